#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { clickhouseMetricsUsage } from '../src/analytics/clickhouse/metrics-usage.js';
import { fixedClock } from '../src/clock.js';
import { ClickHouseStore } from '../src/store/clickhouse/store.js';

/**
 * OTLP metrics on ClickHouse at fleet scale: SERIES series (tools by side and outcome), one
 * cumulative point a minute each for 37 days (a month's window and the week before it), then
 * what usage_summary's metrics figures cost for a day, a week and a month.
 */
const { values } = parseArgs({ options: { path: { type: 'string', default: '/tmp/blackbox-bench/metrics-chdb' }, series: { type: 'string', default: '200' }, calls: { type: 'string', default: '5' } } });
const series = Number(values.series);
const now = new Date('2026-11-01T00:00:00Z');
const store = await ClickHouseStore.open({ engine: 'chdb', path: values.path!, database: `metrics_${series}` }, fixedClock(now));
const ch = store.ch;
const stored = (await ch.one<{ n: number }>(`SELECT count() AS n FROM ${ch.t('mcp_metric_points')}`))!.n;
if (stored === 0) {
  const started = performance.now();
  await ch.command(
    `INSERT INTO ${ch.t('mcp_metric_points')} (series, start_ns, time_ns, cumulative, minute, side, server, tool, failed, count, sum_ms)
     SELECT concat('s', toString(number % ${series})), '1', toUInt128(toUnixTimestamp(m)) * 1000000000, true, m, 'server', 'srv',
            concat('tool', toString(number % 50)), (number % ${series}) >= ${Math.floor(series * 0.75)}, intDiv(number, ${series}) * 3, intDiv(number, ${series}) * 30.0
     FROM (SELECT number, toDateTime('2026-09-25 00:00:00', 'UTC') + INTERVAL intDiv(number, ${series}) MINUTE AS m FROM numbers(${series * 1440 * 37}))`,
  );
  process.stdout.write(`${series * 1440 * 37} points stored in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}
for (const days of [1, 7, 30]) {
  const range = { from: new Date(now.getTime() - days * 86_400_000), to: now };
  const times: number[] = [];
  let calls = 0;
  for (let i = 0; i < Number(values.calls); i++) {
    const started = performance.now();
    calls = (await clickhouseMetricsUsage(ch, range, {}))?.calls ?? 0;
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  process.stdout.write(`${days}d: median ${times[Math.floor(times.length / 2)]!.toFixed(0)} ms, slowest ${times.at(-1)!.toFixed(0)} ms (${calls} calls counted; expected ${series * 1440 * days * 3})\n`);
}
await store.close();
