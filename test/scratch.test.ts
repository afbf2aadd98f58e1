import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeStaleScratch } from '../src/scratch.js';
import { record, tempDir } from './helpers.js';

const CLI = join(process.cwd(), 'dist/cli/main.js');
const SHM = existsSync('/dev/shm') ? '/dev/shm' : undefined;

const scratchOf = (base: string, prefix: string, pid: number) => readdirSync(base).filter((n) => n.startsWith(`${prefix}${pid}-`)).map((n) => join(base, n));

describe('scratch files of a killed ingest', () => {
  it('kill -9 mid-ingest leaves owner-only spool and staging files, and the next start removes them', async () => {
    const dir = tempDir();
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    // Enough lines that the spool is still being written when the process is killed.
    const line = JSON.stringify(record('x', { input: { padding: 'p'.repeat(600) } }));
    const chunk = Array.from({ length: 20_000 }, (_, i) => line.replace('"x"', `"k${i}"`)).join('\n');
    writeFileSync(join(logs, 'big.jsonl'), Array.from({ length: 20 }, (_, j) => chunk.replaceAll('"k', `"f${j}_`)).join('\n'));
    const env = { ...process.env, TMPDIR: tmp, MCP_BLACKBOX_DB: '' };
    const child = spawn(process.execPath, [CLI, 'ingest', logs, '--db', join(dir, 'a.duckdb')], { env, stdio: 'ignore' });
    const pid = child.pid!;
    let spool: string[] = [];
    for (let i = 0; i < 400 && child.exitCode === null; i++) {
      spool = scratchOf(tmp, 'blackbox-spool-', pid).filter((d) => readdirSync(d).length > 0);
      if (spool.length > 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(spool.length, 'the spool appeared before the ingest ended').toBeGreaterThan(0);
    // While they exist: the directory is the owner's alone, and so are the records in it.
    expect(statSync(spool[0]!).mode & 0o777).toBe(0o700);
    const file = join(spool[0]!, readdirSync(spool[0]!)[0]!);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(scratchOf(tmp, 'blackbox-spool-', pid).length).toBeGreaterThan(0);
    const staging = SHM ? scratchOf(SHM, 'blackbox-staging-', pid) : [];

    // The next ingest, another process, sweeps away what the dead one left.
    writeFileSync(join(dir, 'small.jsonl'), `${JSON.stringify(record('s1'))}\n`);
    const next = spawnSync(process.execPath, [CLI, 'ingest', join(dir, 'small.jsonl'), '--db', join(dir, 'b.duckdb')], { env, encoding: 'utf8' });
    expect(next.status).toBe(0);
    expect(scratchOf(tmp, 'blackbox-spool-', pid)).toEqual([]);
    for (const d of staging) expect(existsSync(d), d).toBe(false);
  });

  it('keeps directories of running processes and of other names; removes legacy ones only when idle', () => {
    const base = tempDir();
    const alive = join(base, `blackbox-spool-${process.pid}-abc`);
    const legacyFresh = join(base, 'blackbox-spool-Xy12Ab');
    const other = join(base, 'unrelated-123-x');
    for (const d of [alive, legacyFresh, other]) mkdirSync(d);
    expect(removeStaleScratch(base, 'blackbox-spool-')).toEqual([]);
    expect(removeStaleScratch(base, 'blackbox-spool-', Date.now() + 2 * 60 * 60 * 1000)).toEqual([legacyFresh]);
    expect(existsSync(alive) && existsSync(other)).toBe(true);
  });
});
