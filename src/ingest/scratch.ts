import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';

/** A private temporary directory: removed by `remove()`, or when the process exits if nobody did. */
export async function scratchDir(base: string, prefix: string): Promise<{ path: string; remove: () => void }> {
  const path = await mkdtemp(join(base, prefix));
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
