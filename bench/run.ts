#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fixedClock } from '../src/clock.js';
import { DEFAULT_MEMORY_LIMIT } from '../src/cli/config.js';
import { LogTailer } from '../src/ingest/tailer.js';
import { Store } from '../src/store/store.js';
import { BENCH_ANCHOR, withRandomIds, writeDataset } from './dataset.js';
import { benchHttpIngest } from './http-ingest.js';
import { benchMixedLoad, mixedLoadMarkdown, type MixedLoadResult } from './mixed-load.js';
import { benchWrapOverhead, wrapOverheadMarkdown, type WrapOverheadResult } from './wrap-overhead.js';
import { benchOtlpIngest, otlpIngestMarkdown, type OtlpIngestResult } from './otlp-ingest.js';
import { alertEvalMarkdown, benchAlertEvaluation, type AlertEvalResult } from './alert-eval.js';
import { benchExportThroughput, exportThroughputMarkdown, type ExportThroughputResult } from './export-throughput.js';
import { benchDashboardRender, dashboardRenderMarkdown, type DashboardRenderResult } from './dashboard-render.js';
import { measureTools, timeCalls, type Percentiles } from './latency.js';
import { runMeasured } from './proc.js';
import { sqliteIngest, sqliteQueries } from './sqlite-baseline.js';

/**
 * `npm run bench`: ingest (ours vs DuckDB's read_json ceiling vs SQLite), peak memory on a 1 GB
 * file, tool latency (ours through a real MCP client vs hand-written SQL on SQLite), latency
 * under ingest load, and growth across scales. Writes bench/results.md.
 */
const { values } = parseArgs({
  options: {
    executions: { type: 'string', default: '1000000' },
    growth: { type: 'string', default: '100000' },
    'with-10m': { type: 'boolean', default: false },
    'memory-gb': { type: 'string', default: '1' },
    repeats: { type: 'string', default: '20' },
    workdir: { type: 'string', default: '/tmp/blackbox-bench' },
    out: { type: 'string', default: 'bench/results.md' },
    'skip-sqlite': { type: 'boolean', default: false },
  },
});

const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, '..', '..', 'dist', 'cli', 'main.js');
const CEILING = resolve(here, 'ceiling.js');
const work = values.workdir!;
const repeats = Number(values.repeats);
const now = Date.parse(BENCH_ANCHOR);
mkdirSync(work, { recursive: true });
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

/** 8 ingest clients and 4 tool clients, as in the adversarial pass that found reads starving writes. */
const MIXED_LOAD = { seconds: 15, rounds: 4, ingestClients: 8, toolClients: 4, batch: 500 };
const WRAP_OVERHEAD = { calls: 2000, rounds: 4 };
const OTLP_INGEST = { calls: 20_000, batch: 500, concurrency: 4 };
const ALERT_CYCLES = 11;
const EXPORT = { executions: 100_000, ingest: 200_000, batch: 2000, rounds: 3 };
const DASHBOARD_LOADS = 5;

const TOOL_CALLS = (traceId: string): Record<string, Record<string, unknown>> => ({
  usage_summary: { window: '30d' },
  who_drove_spike: { window: '30d' },
  cost_by_user: { window: '30d' },
  unused_tools: { window: '30d' },
  failure_report: { window: '7d' },
  trace_execution: { execution_id: traceId },
});

interface ScaleResult {
  executions: number;
  lines: number;
  fileMiB: number;
  ours: { seconds: number; rate: number; peakRssMiB: number; summary: Record<string, unknown> };
  /** The same ingest with UUIDv4-shaped ids (main scale only). */
  oursRandomIds?: { seconds: number; rate: number };
  ceiling: { seconds: number; rate: number };
  sqlite?: { seconds: number; rate: number };
  tools: Record<string, Percentiles>;
  sqliteTools?: Record<string, Percentiles>;
}

/** The execution trace_execution is timed on: the newest failed workflow, with steps and a run. */
async function failedWorkflowId(store: Store): Promise<string> {
  const row = await store.read((db) =>
    db.one<{ id: string }>("SELECT execution_id AS id FROM executions WHERE tool_kind = 'workflow' AND status = 'failed' ORDER BY started_at DESC LIMIT 1"),
  );
  if (!row) throw new Error('bench data has no failed workflow to trace');
  return row.id;
}

function rmDb(path: string): void {
  for (const suffix of ['', '.wal', '.audit.jsonl', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
}

/** `mcp-blackbox ingest` of one file into a fresh database, in a process of its own, at the default memory limit. */
async function cliIngest(file: string, dbPath: string): Promise<Awaited<ReturnType<typeof runMeasured>>> {
  rmDb(dbPath);
  const run = await runMeasured(process.execPath, [CLI, 'ingest', file, '--db', dbPath, '--now', BENCH_ANCHOR, '--json'], {
    ...process.env,
    MCP_BLACKBOX_MEMORY_LIMIT: DEFAULT_MEMORY_LIMIT,
  });
  if (run.code !== 0) throw new Error(`ingest of ${file} failed: ${run.stderr}`);
  return run;
}

async function runScale(executions: number): Promise<ScaleResult> {
  const file = join(work, `fleet-${executions}.jsonl`);
  log(`scale ${executions}: generating ${file}`);
  const { lines, bytes } = await writeDataset(file, executions);

  const dbPath = join(work, `ours-${executions}.duckdb`);
  log(`scale ${executions}: mcp-blackbox ingest`);
  const ours = await cliIngest(file, dbPath);
  const summary = JSON.parse(ours.stdout) as Record<string, unknown>;

  const ceilingDb = join(work, `ceiling-${executions}.duckdb`);
  rmDb(ceilingDb);
  log(`scale ${executions}: read_json ceiling`);
  const ceiling = await runMeasured(process.execPath, [CEILING, file, ceilingDb]);
  if (ceiling.code !== 0) throw new Error(`ceiling failed: ${ceiling.stderr}`);
  rmDb(ceilingDb);

  let sqlite: ScaleResult['sqlite'];
  const sqlitePath = join(work, `sqlite-${executions}.db`);
  if (!values['skip-sqlite']) {
    rmDb(sqlitePath);
    log(`scale ${executions}: SQLite ingest`);
    const started = performance.now();
    await sqliteIngest(sqlitePath, file);
    const seconds = (performance.now() - started) / 1000;
    sqlite = { seconds, rate: Math.round(lines / seconds) };
  }

  let oursRandomIds: ScaleResult['oursRandomIds'];
  if (executions === Number(values.executions)) {
    const randomFile = join(work, `fleet-${executions}-uuid.jsonl`);
    const randomDb = join(work, `ours-${executions}-uuid.duckdb`);
    await withRandomIds(file, randomFile);
    log(`scale ${executions}: mcp-blackbox ingest, random ids`);
    const run = await cliIngest(randomFile, randomDb);
    oursRandomIds = { seconds: run.seconds, rate: Math.round(lines / run.seconds) };
    rmSync(randomFile, { force: true });
    rmDb(randomDb);
  }

  log(`scale ${executions}: tool latency`);
  const store = await Store.open({ path: dbPath, clock: fixedClock(new Date(BENCH_ANCHOR)), memoryLimit: DEFAULT_MEMORY_LIMIT });
  const traceId = await failedWorkflowId(store);
  const tools = await measureTools(store, TOOL_CALLS(traceId), repeats);
  await store.close();

  let sqliteTools: ScaleResult['sqliteTools'];
  if (!values['skip-sqlite']) {
    const queries = sqliteQueries(sqlitePath, now, traceId);
    sqliteTools = {};
    for (const name of Object.keys(TOOL_CALLS(traceId))) sqliteTools[name] = await timeCalls(repeats, queries[name]!);
    queries.close!();
  }
  rmSync(file, { force: true });
  return {
    executions,
    lines,
    fileMiB: Math.round(bytes / 1024 / 1024),
    ours: { seconds: ours.seconds, rate: Math.round(lines / ours.seconds), peakRssMiB: ours.peakRssMiB, summary },
    oursRandomIds,
    ceiling: { seconds: JSON.parse(ceiling.stdout).seconds, rate: Math.round(lines / JSON.parse(ceiling.stdout).seconds) },
    sqlite,
    tools,
    sqliteTools,
  };
}

/** One round of the under-load bench: the tools idle, then while the watcher ingests. */
interface LoadRound {
  idle: Record<string, Percentiles>;
  load: Record<string, Percentiles>;
  /** Executions the writer appended from its start until the tools were timed under load. */
  written: number;
  /** Of those, what the watcher had committed by then. */
  committed: number;
  seconds: number;
  /** How long the watcher then took to commit the rest (the backlog). */
  catchUpSeconds: number;
}

/**
 * Under-load rounds paired with idle ones. Each round times the tools idle and then while the
 * watcher tails a file that grows by `rate` executions a second, in the same process on the same
 * database, so a ratio compares like with like: this machine's speed drifts by up to 30% over a
 * run, and a p95 of 20 calls moves with it. Between rounds the watcher's backlog is committed.
 */
async function underLoad(dbPath: string, traceId: string, rate: number, rounds: number): Promise<LoadRound[]> {
  const store = await Store.open({ path: dbPath, clock: fixedClock(new Date(BENCH_ANCHOR)), memoryLimit: DEFAULT_MEMORY_LIMIT });
  const count = async () => (await store.read((db) => db.one<{ n: number }>('SELECT count(*)::DOUBLE AS n FROM executions')))!.n;
  const result: LoadRound[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const idle = await measureTools(store, TOOL_CALLS(traceId), repeats);
      const dir = join(work, 'live', `round-${round}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const live = join(dir, 'live.jsonl');
      writeFileSync(live, '');
      const before = await count();
      const tailer = new LogTailer(store, { dirs: [dir], sweepIntervalMs: 200 });
      await tailer.start();
      const started = performance.now();
      const writer = spawn(process.execPath, [join(here, 'live-writer.js'), live, String(rate), BENCH_ANCHOR, `live${round}`], { stdio: 'inherit' });
      const writerExit = new Promise((r) => writer.once('exit', r));
      await new Promise((r) => setTimeout(r, 2000)); // let the load settle
      const load = await measureTools(store, TOOL_CALLS(traceId), repeats);
      writer.kill('SIGTERM');
      await writerExit;
      const seconds = (performance.now() - started) / 1000;
      const committed = (await count()) - before;
      const catchUp = performance.now();
      await tailer.drainAll();
      const catchUpSeconds = (performance.now() - catchUp) / 1000;
      await tailer.stop();
      // Counted once the catch-up is timed: the watcher goes on committing while this runs.
      const written = lineCount(readFileSync(live));
      result.push({ idle, load, written, committed, seconds, catchUpSeconds });
    }
  } finally {
    await store.close();
  }
  return result;
}

/**
 * Five, not three: the median of three rounds is too few samples to settle a ratio near the line.
 * The worst tool's median came out at 1.88x, 1.94x, 2.16x and 2.04x in four runs of the same code.
 */
const LOAD_ROUNDS = 5;

function lineCount(bytes: Buffer): number {
  let lines = 0;
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) lines++;
  return lines;
}

async function main(): Promise<void> {
  const executions = Number(values.executions);
  const scales = [...new Set([...values.growth!.split(',').map(Number), executions, ...(values['with-10m'] ? [10_000_000] : [])])].sort((a, b) => a - b);
  const results: ScaleResult[] = [];
  for (const scale of scales) results.push(await runScale(scale));
  const main = results.find((r) => r.executions === executions)!;

  log('under load');
  const mainDb = join(work, `ours-${executions}.duckdb`);
  const store = await Store.open({ path: mainDb, clock: fixedClock(new Date(BENCH_ANCHOR)), memoryLimit: DEFAULT_MEMORY_LIMIT });
  const traceId = await failedWorkflowId(store);
  await store.close();
  const load = await underLoad(mainDb, traceId, 10_000, LOAD_ROUNDS);

  let memory: { fileMiB: number; lines: number; peakRssMiB: number; seconds: number } | undefined;
  const memoryGb = Number(values['memory-gb']);
  if (memoryGb > 0) {
    log(`memory: a ${memoryGb} GB file`);
    const file = join(work, 'memory.jsonl');
    const target = memoryGb * 1024 * 1024 * 1024;
    const { lines } = await writeDataset(file, Math.ceil(target / 650));
    const dbPath = join(work, 'memory.duckdb');
    const run = await cliIngest(file, dbPath);
    memory = { fileMiB: Math.round(statSync(file).size / 1024 / 1024), lines, peakRssMiB: run.peakRssMiB, seconds: run.seconds };
    rmSync(file, { force: true });
    rmDb(dbPath);
  }

  log('http ingest');
  const http = await benchHttpIngest({ executions: 200_000, batch: 5000, concurrency: 4 });

  log('mixed load: HTTP ingest under tool traffic');
  const mixed = await benchMixedLoad(MIXED_LOAD);
  log('wrap: added latency per tools/call');
  const wrap = await benchWrapOverhead(WRAP_OVERHEAD);
  log('OTLP protobuf ingest, children together and apart');
  const otlp = await benchOtlpIngest(OTLP_INGEST);

  log('alert evaluation: one rule of each kind, per cycle and backtested');
  const alertDbs = scales.filter((scale) => scale >= executions).map((scale) => join(work, `ours-${scale}.duckdb`));
  const alerts: AlertEvalResult[] = [];
  for (const db of alertDbs) alerts.push(await benchAlertEvaluation(db, { cycles: ALERT_CYCLES }));

  log('SIEM export: throughput per sink, ingest with all sinks on against off');
  const exported = await benchExportThroughput(EXPORT);

  log('dashboard: each page in Chromium, render and total time');
  const dashboards: DashboardRenderResult[] = [];
  for (const db of alertDbs) dashboards.push(await benchDashboardRender(db, { loads: DASHBOARD_LOADS }));

  writeResults({ results, main, load, memory, http, mixed, wrap, otlp, alerts, alertDbs, exported, dashboards });
  log(`wrote ${values.out}`);
}

function writeResults(r: {
  results: ScaleResult[];
  main: ScaleResult;
  load: LoadRound[];
  memory?: { fileMiB: number; lines: number; peakRssMiB: number; seconds: number };
  http: Awaited<ReturnType<typeof benchHttpIngest>>;
  mixed: MixedLoadResult;
  wrap: WrapOverheadResult;
  otlp: OtlpIngestResult;
  alerts: AlertEvalResult[];
  alertDbs: string[];
  exported: ExportThroughputResult;
  dashboards: DashboardRenderResult[];
}): void {
  const { main } = r;
  const f = (n: number) => n.toLocaleString('en-US');
  const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
  const out: string[] = [];
  out.push('# mcp-blackbox benchmark results', '');
  out.push(`Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 1024 ** 3)} GiB, Node ${process.version}, DuckDB (@duckdb/node-api) ${duckdbVersion()}. Run ${new Date().toISOString()}.`, '');
  out.push(`Command: \`npm run bench -- --executions ${values.executions} --growth ${values.growth}${values['with-10m'] ? ' --with-10m' : ''}\``, '');
  out.push('Data: the sample fleet generator over 60 days, with steps and payloads of a few hundred bytes, 2% repeated lines, 1% running-then-final pairs, 0.1% bad lines. "Now" is pinned to the end of the data.', '');
  out.push(`## 1. File ingest (${f(main.executions)} executions, ${f(main.lines)} lines, ${f(main.fileMiB)} MiB)`, '');
  out.push('| path | seconds | lines/s | vs ceiling |', '| --- | ---: | ---: | ---: |');
  out.push(`| \`mcp-blackbox ingest\` (validation, idempotency, quarantine) | ${main.ours.seconds.toFixed(1)} | ${f(main.ours.rate)} | ${ratio(main.ours.rate, main.ceiling.rate)}x |`);
  if (main.oursRandomIds) out.push(`| the same, with random UUIDv4-shaped execution ids instead of time-ordered ones | ${main.oursRandomIds.seconds.toFixed(1)} | ${f(main.oursRandomIds.rate)} | ${ratio(main.oursRandomIds.rate, main.ceiling.rate)}x |`);
  out.push(`| ceiling: DuckDB \`read_json\` into a flat table, no validation | ${main.ceiling.seconds.toFixed(1)} | ${f(main.ceiling.rate)} | 1.00x |`);
  if (main.sqlite) out.push(`| peers' stack: SQLite (better-sqlite3 12, WAL, 10k-row transactions, primary key) | ${main.sqlite.seconds.toFixed(1)} | ${f(main.sqlite.rate)} | ${ratio(main.sqlite.rate, main.ceiling.rate)}x |`);
  out.push('', `Ratios: ours / ceiling = **${ratio(main.ours.rate, main.ceiling.rate)}** (target ≥ 0.5)${main.sqlite ? `; ours / SQLite = **${ratio(main.ours.rate, main.sqlite.rate)}**` : ''}.`, '');
  out.push(`Ingest summary: ${JSON.stringify(main.ours.summary)}`, '');
  out.push('## 2. Memory', '');
  if (r.memory) out.push(`Peak RSS while ingesting a ${f(r.memory.fileMiB)} MiB file (${f(r.memory.lines)} lines, DuckDB memory_limit ${DEFAULT_MEMORY_LIMIT}, the default): **${f(r.memory.peakRssMiB)} MiB** (target < 1024 MiB), in ${r.memory.seconds.toFixed(1)} s.`, '');
  out.push(`Peak RSS for the ${f(main.fileMiB)} MiB ingest above: ${f(main.ours.peakRssMiB)} MiB.`, '');
  out.push(`## 3. Tool latency (ms, ${repeats} calls each after one warm-up; ours through the MCP SDK client, SQLite as direct queries; a slow baseline stops after 30 s, n says how many calls)`, '');
  for (const scale of r.results) {
    out.push(`### ${f(scale.executions)} executions`, '');
    out.push('| tool | ours p50 | ours p95 | SQLite p50 | SQLite p95 (n) | SQLite p95 / ours p95 |', '| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const [name, p] of Object.entries(scale.tools)) {
      const s = scale.sqliteTools?.[name];
      out.push(`| ${name} | ${p.p50} | ${p.p95} | ${s?.p50 ?? '-'} | ${s ? `${s.p95} (${s.n})` : '-'} | ${s ? ratio(s.p95, p.p95) + 'x' : '-'} |`);
    }
    out.push('');
  }
  out.push('## 4. Under load', '');
  const rates = r.load
    .map((l) => `${f(l.written)} written and ${f(l.committed)} committed in ${l.seconds.toFixed(1)} s, the other ${f(l.written - l.committed)} within ${l.catchUpSeconds.toFixed(1)} s after`)
    .join('; ');
  out.push(
    `Tool p95 idle and then while the watcher tails a file growing by 10,000 executions/s, in ${r.load.length} rounds on the ${f(main.executions)} database ` +
      `(same process and database for both halves of a round; the backlog is committed between rounds). ` +
      `From the writer's start until the timed calls ended, and how long the watcher then took to commit what was left ` +
      `(it reads a file at most once a second, so up to two seconds of lines are always in flight): ${rates}.`,
    '',
  );
  out.push('| tool | idle p95 per round | under load p95 per round | ratio per round | median ratio |', '| --- | ---: | ---: | ---: | ---: |');
  const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const perTool = Object.keys(r.load[0]!.load).map((name) => {
    const ratios = r.load.map((l) => l.load[name]!.p95 / l.idle[name]!.p95);
    return { name, ratios, median: medianOf(ratios) };
  });
  for (const { name, ratios, median } of perTool) {
    const per = (pick: (l: LoadRound) => number) => r.load.map(pick).join(' / ');
    out.push(`| ${name} | ${per((l) => l.idle[name]!.p95)} | ${per((l) => l.load[name]!.p95)} | ${ratios.map((x) => `${x.toFixed(2)}x`).join(' / ')} | ${median.toFixed(2)}x |`);
  }
  const worst = perTool.reduce((a, b) => (b.median > a.median ? b : a));
  const worstRound = Math.max(...perTool.flatMap((t) => t.ratios));
  out.push('', `Highest median ratio: **${worst.median.toFixed(2)}x** (${worst.name}; target ≤ 2x); highest ratio in any round: ${worstRound.toFixed(2)}x.`);
  out.push('', '## 5. Growth', '');
  out.push('| executions | ingest s | lines/s | ceiling lines/s | ours/ceiling | max tool p95 (ms) | trace p95 (ms) |', '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const s of r.results) {
    const maxP95 = Math.max(...Object.entries(s.tools).filter(([n]) => n !== 'trace_execution').map(([, p]) => p.p95));
    out.push(`| ${f(s.executions)} | ${s.ours.seconds.toFixed(1)} | ${f(s.ours.rate)} | ${f(s.ceiling.rate)} | ${ratio(s.ours.rate, s.ceiling.rate)} | ${maxP95} | ${s.tools.trace_execution!.p95} |`);
  }
  out.push('', '## 6. HTTP ingest', '');
  out.push(`POST /v1/executions over loopback, NDJSON batches of ${f(r.http.batch)}, ${r.http.concurrency} in flight: ${f(r.http.executions)} executions in ${r.http.seconds.toFixed(1)} s = **${f(r.http.perSecond)} executions/s** (\`node dist-bench/bench/http-ingest.js --executions 200000 --batch 5000 --concurrency 4\`).`, '');
  out.push('## 7. Ingest under tool traffic', '');
  out.push(...mixedLoadMarkdown(r.mixed, `node dist-bench/bench/mixed-load.js --seconds ${MIXED_LOAD.seconds} --rounds ${MIXED_LOAD.rounds} --ingest-clients ${MIXED_LOAD.ingestClients} --tool-clients ${MIXED_LOAD.toolClients}`));
  out.push('', '## 8. The recording proxy', '');
  out.push(...wrapOverheadMarkdown(r.wrap, `node dist-bench/bench/wrap-overhead.js --calls ${WRAP_OVERHEAD.calls} --rounds ${WRAP_OVERHEAD.rounds}`));
  out.push('', '## 9. OTLP ingest', '');
  out.push(...otlpIngestMarkdown(r.otlp, `node dist-bench/bench/otlp-ingest.js --calls ${OTLP_INGEST.calls} --batch ${OTLP_INGEST.batch} --concurrency ${OTLP_INGEST.concurrency}`));
  out.push('', '## 10. Alert evaluation', '');
  out.push(...alertEvalMarkdown(r.alerts, `node dist-bench/bench/alert-eval.js ${r.alertDbs.map((d) => `--db ${d}`).join(' ')} --cycles ${ALERT_CYCLES}`));
  out.push('', '## 11. SIEM export', '');
  out.push(...exportThroughputMarkdown(r.exported, `node dist-bench/bench/export-throughput.js --executions ${EXPORT.executions} --ingest ${EXPORT.ingest} --batch ${EXPORT.batch} --rounds ${EXPORT.rounds}`));
  out.push('', ...dashboardRenderMarkdown(r.dashboards, `node dist-bench/bench/dashboard-render.js ${r.alertDbs.map((d) => `--db ${d}`).join(' ')} --loads ${DASHBOARD_LOADS}`));
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, `${out.join('\n')}\n`);
}

function duckdbVersion(): string {
  try {
    return JSON.parse(readFileSync(resolve(here, '..', '..', 'node_modules', '@duckdb', 'node-api', 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

await main();
