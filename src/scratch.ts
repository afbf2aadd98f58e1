import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Files written into a scratch directory: records in plain text, for the owner alone. */
export const SCRATCH_FILE_MODE = 0o600;

/** Legacy directories (no PID in the name) untouched this long belong to no running ingest. */
const LEGACY_IDLE_MS = 60 * 60 * 1000;

const swept = new Set<string>();

/** Where ingest keeps records in flight: file ingest spools ahead of the store; the store reads each batch from a staging file in memory. */
export const SCRATCH = {
  spool: () => ({ base: tmpdir(), prefix: 'blackbox-spool-' }),
  staging: () => ({ base: existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), prefix: 'blackbox-staging-' }),
};

/** Removes what killed processes left in every scratch location; commands call it as they start. */
export function sweepStaleScratch(): void {
  for (const where of Object.values(SCRATCH)) {
    const { base, prefix } = where();
    swept.add(`${base}\0${prefix}`);
    removeStaleScratch(base, prefix);
  }
}

/**
 * A private temporary directory (mode 0700, named after this process): removed by `remove()`, or
 * when the process exits if nobody did. A process killed with -9 cannot remove its own, so the
 * first scratch directory each process makes under a base sweeps away those of dead processes.
 */
export async function scratchDir(kind: keyof typeof SCRATCH): Promise<{ path: string; remove: () => void }> {
  const { base, prefix } = SCRATCH[kind]();
  if (!swept.has(`${base}\0${prefix}`)) {
    swept.add(`${base}\0${prefix}`);
    removeStaleScratch(base, prefix);
  }
  const path = await mkdtemp(join(base, `${prefix}${process.pid}-`));
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    process.off('exit', remove);
    rmSync(path, { recursive: true, force: true });
  };
  process.once('exit', remove);
  return { path, remove };
}

/**
 * Removes scratch directories left by processes that no longer run: `<prefix><pid>-XXXXXX` whose
 * PID is gone, and older unnamed ones (`<prefix>XXXXXX`) idle for an hour. Only this user's.
 */
export function removeStaleScratch(base: string, prefix: string, now = Date.now()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const path = join(base, name);
    try {
      const info = statSync(path);
      if (!info.isDirectory() || (process.getuid && info.uid !== process.getuid())) continue;
      const pid = /^(\d+)-/.exec(name.slice(prefix.length))?.[1];
      const stale = pid ? !processRuns(Number(pid)) : now - info.mtimeMs > LEGACY_IDLE_MS;
      if (!stale) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // Another process removed it, or it is not ours to remove: either way, not ours to report.
    }
  }
  return removed;
}

function processRuns(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
