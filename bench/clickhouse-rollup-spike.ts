#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ClickHouseDb } from '../src/store/clickhouse/client.js';

/**
 * Spike for issue 26's open part: would an hourly rollup in ClickHouse (DuckDB's hourly_usage
 * design: executions, tasks, cost per hour and nine dimensions) answer the windowed questions
 * within 3x of DuckDB at 10M? Built once from executions FINAL (so exact at that moment; keeping
 * it exact under replacements is the unsolved part), then the queries the cost and usage answers
 * need are timed on it and on executions FINAL.
 */
const { values } = parseArgs({ options: { path: { type: 'string', default: '/tmp/blackbox-bench/side/chdb' }, database: { type: 'string', default: 'side_10000000' }, calls: { type: 'string', default: '15' } } });
const ch = await ClickHouseDb.open({ engine: 'chdb', path: values.path!, database: values.database! });
const db = values.database!;
const dims = 'tool_name, tool_server, tool_kind, user_id, user_team, agent_client, environment, via_mcp, status';
const started = performance.now();
await ch.command(`DROP TABLE IF EXISTS ${db}.hourly_spike`);
await ch.command(`CREATE TABLE ${db}.hourly_spike (hour DateTime('UTC'), tool_name LowCardinality(String), tool_server LowCardinality(Nullable(String)), tool_kind LowCardinality(String), user_id String, user_team LowCardinality(Nullable(String)), agent_client LowCardinality(Nullable(String)), environment LowCardinality(Nullable(String)), via_mcp Bool, status LowCardinality(String), executions UInt64, tasks Float64, cost_usd Nullable(Float64))
  ENGINE = SummingMergeTree ORDER BY (hour, tool_name, user_id, status) SETTINGS allow_nullable_key = 1`);
await ch.command(`INSERT INTO ${db}.hourly_spike SELECT toStartOfHour(started_at) AS hour, ${dims}, count(), sum(tasks), sum(cost_usd) FROM ${db}.executions FINAL GROUP BY hour, ${dims}`);
await ch.command(`OPTIMIZE TABLE ${db}.hourly_spike FINAL`);
const rows = (await ch.one<{ n: number }>(`SELECT count() AS n FROM ${db}.hourly_spike`))!.n;
process.stdout.write(`rollup built in ${((performance.now() - started) / 1000).toFixed(1)} s: ${rows} rows\n`);

const w = (from: string, to: string) => `started_at >= '${from}' AND started_at < '${to}'`;
const h = (from: string, to: string) => `hour >= '${from}' AND hour < '${to}'`;
const queries: Record<string, [string, string]> = {
  'cost groups by user, both windows': [
    `SELECT user_id, sumIf(tasks, started_at >= '2026-10-02 00:00:00'), sumIf(tasks, started_at < '2026-10-02 00:00:00') FROM ${db}.executions FINAL WHERE ${w('2026-09-02 00:00:00', '2026-11-01 00:00:00')} GROUP BY user_id`,
    `SELECT user_id, sumIf(tasks, hour >= '2026-10-02 00:00:00'), sumIf(tasks, hour < '2026-10-02 00:00:00') FROM ${db}.hourly_spike WHERE ${h('2026-09-02 00:00:00', '2026-11-01 00:00:00')} GROUP BY user_id`,
  ],
  'usage series by day and status, 30 days': [
    `SELECT toDate(started_at) d, status, count() FROM ${db}.executions FINAL WHERE ${w('2026-10-02 00:00:00', '2026-11-01 00:00:00')} GROUP BY d, status`,
    `SELECT toDate(hour) d, status, sum(executions) FROM ${db}.hourly_spike WHERE ${h('2026-10-02 00:00:00', '2026-11-01 00:00:00')} GROUP BY d, status`,
  ],
  'runs per tool, both windows (unused_tools)': [
    `SELECT tool_name, ifNull(tool_server, ''), countIf(started_at >= '2026-10-02 00:00:00'), countIf(started_at < '2026-10-02 00:00:00') FROM ${db}.executions FINAL WHERE ${w('2026-09-02 00:00:00', '2026-11-01 00:00:00')} GROUP BY 1, 2`,
    `SELECT tool_name, ifNull(tool_server, ''), sumIf(executions, hour >= '2026-10-02 00:00:00'), sumIf(executions, hour < '2026-10-02 00:00:00') FROM ${db}.hourly_spike WHERE ${h('2026-09-02 00:00:00', '2026-11-01 00:00:00')} GROUP BY 1, 2`,
  ],
};
const time = async (sql: string) => {
  const samples: number[] = [];
  for (let i = 0; i < Number(values.calls); i++) {
    const t = performance.now();
    await ch.all(sql);
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return `${samples[Math.floor(samples.length / 2)]!.toFixed(1)} / ${samples[Math.ceil(samples.length * 0.95) - 1]!.toFixed(1)}`;
};
process.stdout.write('| query | executions FINAL p50 / p95 ms | hourly rollup p50 / p95 ms |\n|---|---|---|\n');
for (const [name, [raw, rolled]] of Object.entries(queries)) process.stdout.write(`| ${name} | ${await time(raw)} | ${await time(rolled)} |\n`);
await ch.command(`DROP TABLE ${db}.hourly_spike`);
await ch.close();
