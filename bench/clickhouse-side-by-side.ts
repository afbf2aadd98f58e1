#!/usr/bin/env node
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AuditLog } from '../src/access/audit.js';
import { clickhouseAnalytics } from '../src/analytics/clickhouse/index.js';
import type { AnalyticsBackend } from '../src/analytics/backend.js';
import { DEFAULT_MEMORY_LIMIT } from '../src/cli/config.js';
import { fixedClock } from '../src/clock.js';
import { ingestFiles, ingestFilesInto } from '../src/ingest/files.js';
import { createServer } from '../src/mcp/server.js';
import { refreshRollup } from '../src/store/clickhouse/rollup.js';
import { ClickHouseStore } from '../src/store/clickhouse/store.js';
import { Store } from '../src/store/store.js';
import { BENCH_ANCHOR, writeDataset } from './dataset.js';
import { timeCalls, type Percentiles } from './latency.js';

/**
 * DuckDB and ClickHouse (chdb, in this process) side by side on one machine: the same generated
 * file ingested into each, then every windowed tool called through a real MCP client on each.
 * ClickHouse's hourly rollup is refreshed first (timed: what a serve's refresher does after a
 * bulk load), then its queries are timed twice: with the parts as the ingest left them (not yet
 * merged, as under steady ingest) and after OPTIMIZE FINAL (merged, as after a quiet spell).
 */
const TOOLS: Record<string, Record<string, unknown>> = {
  usage_summary: { window: '30d' },
  who_drove_spike: { window: '30d' },
  cost_by_user: { window: '30d' },
  cost_by_tool: { window: '30d' },
  tool_usage: { window: '30d' },
  failure_report: { window: '7d' },
  unused_tools: { window: '30d' },
  list_executions: { window: '7d', status: 'failed' },
  fleet_catalog: { window: '30d' },
  // As the caller u_dev_bot, the user behind the sample fleet's spike.
  my_failures: { window: '30d' },
};

interface EngineRun {
  ingestSeconds: number;
  linesPerSecond: number;
  tools: Record<string, Percentiles>;
}

export interface SideBySideResult {
  executions: number;
  lines: number;
  duckdb: EngineRun;
  clickhouse: EngineRun;
  clickhouseMerged: Record<string, Percentiles>;
  parts: { beforeMerge: number; afterMerge: number };
  rollup: { seconds: number; hours: number; rows: number };
}

async function measure(store: Store, analytics: AnalyticsBackend | undefined, calls: number, traceId: string): Promise<Record<string, Percentiles>> {
  const server = createServer({ store, clock: store.clock, caller: { id: 'u_dev_bot', role: 'admin' }, audit: new AuditLog(store), log: () => undefined, ...(analytics ? { analytics } : {}) });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(clientSide);
  const out: Record<string, Percentiles> = {};
  for (const [name, args] of Object.entries({ ...TOOLS, trace_execution: { execution_id: traceId } })) {
    out[name] = await timeCalls(calls, async () => {
      const r = await client.callTool({ name, arguments: args });
      if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
    }, 120_000);
  }
  await client.close();
  return out;
}

/**
 * `toolsOnly`: the databases of an earlier run are queried again without ingesting (after a change
 * to the queries); the ingest figures are then those of that run, given by `previous`.
 */
export async function benchSideBySide(work: string, executions: number, calls: number, log: (line: string) => void, toolsOnly = false): Promise<SideBySideResult> {
  mkdirSync(work, { recursive: true });
  const file = join(work, `fleet-${executions}.jsonl`);
  if (!existsSync(file) && !toolsOnly) {
    log(`writing ${file}`);
    await writeDataset(file, executions);
  }
  const clock = fixedClock(new Date(BENCH_ANCHOR));
  const dbPath = join(work, `side-${executions}.duckdb`);
  const database = `side_${executions}`;
  let duckSeconds = NaN;
  let houseSeconds = NaN;
  let lines = NaN;
  if (!toolsOnly) {
    for (const suffix of ['', '.wal', '.audit.jsonl']) rmSync(`${dbPath}${suffix}`, { force: true });
    log(`${executions}: DuckDB ingest`);
    const duck = await Store.open({ path: dbPath, clock, memoryLimit: DEFAULT_MEMORY_LIMIT });
    let t = performance.now();
    const duckSummary = await ingestFiles(duck, [file]);
    duckSeconds = (performance.now() - t) / 1000;
    await duck.close();

    log(`${executions}: ClickHouse ingest`);
    const house = await ClickHouseStore.open({ engine: 'chdb', path: join(work, 'chdb'), database }, clock);
    await house.ch.command(`DROP DATABASE IF EXISTS ${database} SYNC`);
    await house.close();
    const fresh = await ClickHouseStore.open({ engine: 'chdb', path: join(work, 'chdb'), database }, clock);
    t = performance.now();
    const houseSummary = await ingestFilesInto(fresh, [file]);
    houseSeconds = (performance.now() - t) / 1000;
    await fresh.close();
    if (houseSummary.inserted !== duckSummary.inserted || houseSummary.failed.length > 0) {
      throw new Error(`the engines stored different executions: DuckDB ${duckSummary.inserted}, ClickHouse ${houseSummary.inserted} ${JSON.stringify(houseSummary.failed)}`);
    }
    lines = duckSummary.lines;
  }
  const duck = await Store.open({ path: dbPath, clock, memoryLimit: DEFAULT_MEMORY_LIMIT });
  const ch = await ClickHouseStore.open({ engine: 'chdb', path: join(work, 'chdb'), database }, clock);
  const traceId = (await duck.read((db) => db.one<{ id: string }>("SELECT execution_id AS id FROM executions WHERE step_count > 1 AND status = 'failed' ORDER BY started_at DESC LIMIT 1")))!.id;
  const parts = async () => (await ch.ch.one<{ n: number }>(`SELECT count() AS n FROM system.parts WHERE database = '${database}' AND table = 'executions' AND active`))?.n ?? 0;

  log(`${executions}: ClickHouse rollup refresh`);
  const refreshStarted = performance.now();
  const refreshed = await refreshRollup(ch.ch, { settleMs: 0 });
  const rollup = { seconds: (performance.now() - refreshStarted) / 1000, hours: refreshed.hours, rows: refreshed.rows };

  log(`${executions}: tools on DuckDB`);
  const duckTools = await measure(duck, undefined, calls, traceId);
  log(`${executions}: tools on ClickHouse`);
  const beforeMerge = await parts();
  const houseTools = await measure(duck, clickhouseAnalytics(ch.ch), calls, traceId);
  log(`${executions}: OPTIMIZE FINAL, then tools on ClickHouse again`);
  await ch.ch.command(`OPTIMIZE TABLE ${ch.ch.t('executions')} FINAL`);
  const afterMerge = await parts();
  const merged = await measure(duck, clickhouseAnalytics(ch.ch), calls, traceId);
  await ch.close();
  await duck.close();
  return {
    executions,
    lines,
    duckdb: { ingestSeconds: duckSeconds, linesPerSecond: Math.round(lines / duckSeconds), tools: duckTools },
    clickhouse: { ingestSeconds: houseSeconds, linesPerSecond: Math.round(lines / houseSeconds), tools: houseTools },
    clickhouseMerged: merged,
    parts: { beforeMerge, afterMerge },
    rollup,
  };
}

export function formatSideBySide(results: SideBySideResult[]): string {
  const out: string[] = [];
  out.push('| executions | engine | ingest s | lines/s |', '|---|---|---|---|');
  for (const r of results) {
    out.push(`| ${r.executions.toLocaleString('en-US')} | DuckDB | ${r.duckdb.ingestSeconds.toFixed(1)} | ${r.duckdb.linesPerSecond.toLocaleString('en-US')} |`);
    out.push(`| ${r.executions.toLocaleString('en-US')} | ClickHouse (chdb) | ${r.clickhouse.ingestSeconds.toFixed(1)} | ${r.clickhouse.linesPerSecond.toLocaleString('en-US')} |`);
  }
  for (const r of results) {
    out.push('', `${r.executions.toLocaleString('en-US')} executions (${r.parts.beforeMerge} parts after the ingest, ${r.parts.afterMerge} after OPTIMIZE FINAL; rollup refresh ${r.rollup.seconds.toFixed(1)} s for ${r.rollup.hours} hours, ${r.rollup.rows} rows); ms, through the MCP client:`, '');
    out.push('| tool | DuckDB p50 / p95 | ClickHouse p50 / p95 | ClickHouse merged p50 / p95 | p95 ClickHouse / DuckDB | merged / DuckDB |', '|---|---|---|---|---|---|');
    for (const name of Object.keys(r.duckdb.tools)) {
      const d = r.duckdb.tools[name]!;
      const h = r.clickhouse.tools[name]!;
      const m = r.clickhouseMerged[name]!;
      out.push(`| ${name} | ${d.p50} / ${d.p95} | ${h.p50} / ${h.p95} | ${m.p50} / ${m.p95} | ${(h.p95 / d.p95).toFixed(2)}x | ${(m.p95 / d.p95).toFixed(2)}x |`);
    }
  }
  return out.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { work: { type: 'string', default: '/tmp/blackbox-bench/side' }, executions: { type: 'string', multiple: true }, calls: { type: 'string', default: '30' }, 'tools-only': { type: 'boolean', default: false } } });
  const results: SideBySideResult[] = [];
  for (const n of values.executions ?? ['1000000']) {
    results.push(await benchSideBySide(values.work!, Number(n), Number(values.calls), (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`), values['tools-only']));
  }
  process.stdout.write(`${formatSideBySide(results)}\n\n${JSON.stringify(results)}\n`);
}
