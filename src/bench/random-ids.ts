#!/usr/bin/env node
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fixedClock } from '../clock.js';
import { DEFAULT_MEMORY_LIMIT } from '../cli/config.js';
import { Store } from '../store/store.js';
import { BENCH_ANCHOR, withRandomIds, writeDataset } from './dataset.js';
import { runMeasured } from './proc.js';

/**
 * How far file ingest goes with random (UUIDv4-shaped) execution ids within a memory limit: the
 * primary-key index keeps what random keys change in memory, so the limit, not the disk, decides.
 * `node dist/bench/random-ids.js --executions 10000000 --memory-limit 384MB`
 * Reuses the bench's data files in the work directory when they are there.
 */
const { values } = parseArgs({
  options: {
    executions: { type: 'string', default: '10000000' },
    'memory-limit': { type: 'string', default: DEFAULT_MEMORY_LIMIT },
    workdir: { type: 'string', default: '/tmp/blackbox-bench' },
  },
});

const executions = Number(values.executions);
const work = values.workdir!;
const file = join(work, `fleet-${executions}.jsonl`);
const randomFile = join(work, `fleet-${executions}-uuid.jsonl`);
const db = join(work, `random-ids-${executions}.duckdb`);
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

if (!existsSync(randomFile)) {
  if (!existsSync(file)) {
    log(`generating ${file}`);
    await writeDataset(file, executions);
  }
  log(`rewriting ids into ${randomFile}`);
  await withRandomIds(file, randomFile);
}
for (const path of [db, `${db}.wal`]) rmSync(path, { force: true });

log(`ingesting with memory_limit ${values['memory-limit']}`);
const cli = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');
const run = await runMeasured(process.execPath, [cli, 'ingest', randomFile, '--db', db, '--now', BENCH_ANCHOR, '--json'], {
  ...process.env,
  MCP_BLACKBOX_MEMORY_LIMIT: values['memory-limit'],
});
const store = await Store.open({ path: db, clock: fixedClock(new Date(BENCH_ANCHOR)), memoryLimit: values['memory-limit'] });
const stored = await store.read((d) => d.one<{ n: number }>('SELECT count(*)::DOUBLE AS n FROM executions'));
await store.close();
const summary = (() => {
  try {
    return JSON.parse(run.stdout) as { failed?: Array<{ error: string }> };
  } catch {
    return {};
  }
})();
const failure = summary.failed?.[0]?.error ?? (run.code === 0 ? undefined : run.stderr.trim().split('\n').pop());
process.stdout.write(
  `${JSON.stringify({
    executions,
    memoryLimit: values['memory-limit'],
    exitCode: run.code,
    seconds: Math.round(run.seconds * 10) / 10,
    stored: stored?.n,
    peakRssMiB: run.peakRssMiB,
    error: failure,
  })}\n`,
);
