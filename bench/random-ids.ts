#!/usr/bin/env node
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fixedClock } from '../src/clock.js';
import { DEFAULT_MEMORY_LIMIT } from '../src/cli/config.js';
import { ingestLines } from '../src/ingest/batch.js';
import { blockFromText } from '../src/ingest/lines.js';
import { Store } from '../src/store/store.js';
import { BENCH_ANCHOR, liveRecord, withRandomIds, writeDataset } from './dataset.js';
import { percentiles } from './latency.js';
import { runMeasured } from './proc.js';

/**
 * How far file ingest goes with random (UUIDv4-shaped) execution ids within a memory limit: the
 * primary-key index keeps what random keys change in memory, so the limit, not the disk, decides.
 * Then what a watcher or HTTP transaction costs on what was stored: `--live-batches` batches of
 * 10,000 new UUIDv4 executions each (1% first sent as running and finished in the next batch, 2%
 * sent twice), committed one after another the way the watcher commits a second of a busy fleet.
 * `node dist-bench/bench/random-ids.js --executions 10000000 --memory-limit 384MB`
 * Reuses the bench's data files in the work directory when they are there.
 */
const { values } = parseArgs({
  options: {
    executions: { type: 'string', default: '10000000' },
    'memory-limit': { type: 'string', default: DEFAULT_MEMORY_LIMIT },
    workdir: { type: 'string', default: '/tmp/blackbox-bench' },
    'live-batches': { type: 'string', default: '20' },
  },
});

const executions = Number(values.executions);
const work = values.workdir!;
const file = join(work, `fleet-${executions}.jsonl`);
const randomFile = join(work, `fleet-${executions}-uuid.jsonl`);
const db = join(work, `random-ids-${executions}.duckdb`);
mkdirSync(work, { recursive: true });
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
const cli = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'main.js');
const run = await runMeasured(process.execPath, [cli, 'ingest', randomFile, '--db', db, '--now', BENCH_ANCHOR, '--json'], {
  ...process.env,
  MCP_BLACKBOX_MEMORY_LIMIT: values['memory-limit'],
});
const store = await Store.open({ path: db, clock: fixedClock(new Date(BENCH_ANCHOR)), memoryLimit: values['memory-limit'] });
const stored = await store.read((d) => d.one<{ n: number }>('SELECT count(*)::DOUBLE AS n FROM executions'));
const live = await liveBatches(store, Number(values['live-batches']));
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
    liveBatchMs: live,
  })}\n`,
);

/** Milliseconds per committed batch (p50, p95), from after the newest stored start on; the error that stopped them, if any. */
async function liveBatches(store: Store, batches: number) {
  if (batches <= 0) return undefined;
  const newest = await store.read((d) => d.one<{ t: string }>('SELECT iso(max(started_at)) AS t FROM executions'));
  let time = Date.parse(newest?.t ?? BENCH_ANCHOR);
  let unfinished: Array<{ id: string; at: number }> = [];
  const samples: number[] = [];
  for (let b = 0; b < batches; b++) {
    const lines = unfinished.map((u) => liveRecord(u.id, u.at, 'succeeded', u.at));
    unfinished = [];
    for (let i = 0; i < 10_000; i++) {
      time += 100;
      const id = randomUUID();
      const running = i % 100 === 0;
      if (running) unfinished.push({ id, at: time });
      lines.push(liveRecord(id, time, running ? 'running' : 'succeeded', time));
      if (i % 50 === 0) lines.push(lines.at(-1)!);
    }
    const started = performance.now();
    try {
      await ingestLines(store, blockFromText(lines.join('\n')), 'random-ids-live');
    } catch (error) {
      return { ...(samples.length ? percentiles(samples) : {}), error: error instanceof Error ? error.message : String(error) };
    }
    samples.push(performance.now() - started);
  }
  return percentiles(samples);
}
