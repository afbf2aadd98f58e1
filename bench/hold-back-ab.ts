#!/usr/bin/env node
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_MEMORY_LIMIT } from '../src/cli/config.js';
import { fixedClock } from '../src/clock.js';
import { ingestFiles } from '../src/ingest/files.js';
import { Store } from '../src/store/store.js';
import { BENCH_ANCHOR, writeDataset } from './dataset.js';

/**
 * Does the row-group hold-back still pay (issue 24: keep what pays)? The same file ingested into
 * fresh databases with it (each transaction's new rows end on a whole row group, the rest carried
 * to the next) and without it, alternating, until every execution is stored and checkpointed.
 */
export async function holdBackAB(executions: number, rounds: number): Promise<Record<'with' | 'without', number[]>> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-blackbox-holdback-'));
  const file = join(dir, 'dataset.ndjson');
  await writeDataset(file, executions);
  const times: Record<'with' | 'without', number[]> = { with: [], without: [] };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const variant of round % 2 === 0 ? (['with', 'without'] as const) : (['without', 'with'] as const)) {
        const store = await Store.open({ path: join(dir, `${variant}-${round}.duckdb`), clock: fixedClock(new Date(BENCH_ANCHOR)), memoryLimit: DEFAULT_MEMORY_LIMIT });
        const started = performance.now();
        await ingestFiles(store, [file], variant === 'with' ? {} : { alignStoredRows: 0 });
        await store.write((db) => db.run('CHECKPOINT'));
        times[variant].push(Math.round((performance.now() - started) / 100) / 10);
        await store.close();
        rmSync(join(dir, `${variant}-${round}.duckdb`), { force: true });
      }
    }
    return times;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { executions: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '4' } } });
  const times = await holdBackAB(Number(values.executions), Number(values.rounds));
  process.stdout.write(`with the hold-back: ${times.with.join(', ')} s; without: ${times.without.join(', ')} s\n`);
}
