import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import type { AnalyticsBackend } from '../backend.js';
import type { AlertSignalQueries } from '../alert-signals.js';
import type { Coverage, StoreExtent } from '../coverage.js';
import type { TimeRange } from '../time-range.js';
import { clickhouseCatalogQueries } from './catalog.js';
import { clickhouseMyFailuresQueries } from './my-failures.js';
import { clickhouseCostQueries } from './cost.js';
import { clickhouseExecutionQueries } from './executions.js';
import { clickhouseToolUsageQueries } from './tool-usage.js';
import { clickhouseTraceQueries } from './trace.js';
import { clickhouseSpikeQueries } from './spike.js';
import { clickhouseFailureQueries } from './failures.js';
import { clickhouseUnusedQueries } from './unused.js';
import { ALL_TIME, ChQuery, isoFromMicros } from './sql.js';
import { planUsage, withinIntervals, type UsageSpan } from './usage-rows.js';
import { clickhouseUsageQueries } from './usage.js';
import { clickhouseAlertSignalQueries } from './alert-signals.js';
import { clickhouseMetricsUsage } from './metrics-usage.js';

/**
 * The store's extent, and whether `range` holds an execution when one is given: the rollup's
 * current days and hours give their totals (one registry row each), the rest is read from executions,
 * so an empty answer or a previous window's caveat does not read every execution. The last
 * ingest is the latest rollup mark: every batch that stored or replaced an execution marks after
 * its insert.
 */
async function extentOf(ch: ClickHouseDb, range?: TimeRange): Promise<Coverage> {
  const spans: UsageSpan[] = range
    ? [
        { range: { from: ALL_TIME.from, to: range.from }, flag: 'out' },
        { range, flag: 'in' },
        { range: { from: range.to, to: ALL_TIME.to }, flag: 'out' },
      ]
    : [{ range: ALL_TIME, flag: 'out' }];
  const plans = await planUsage(ch, spans.filter((s) => s.range.from < s.range.to), 'day');
  const q = new ChQuery(ch);
  const rawIntervals = plans.flatMap((p) => p.raw);
  const inRaw = plans.find((p) => p.flag === 'in')?.raw ?? [];
  const rawRead = rawIntervals.length
    ? `(SELECT (count(), ${inRaw.length ? `countIf(${withinIntervals(q, inRaw)})` : '0'}, toUnixTimestamp64Micro(minOrNull(started_at)), toUnixTimestamp64Micro(maxOrNull(started_at)))
        FROM ${ch.t('executions')} FINAL WHERE ${withinIntervals(q, rawIntervals)})`
    : '(0, 0, NULL, NULL)';
  const row = await q.one<{ n_raw: number; n_in: number; oldest: number | null; newest: number | null; ingested: number | null; quarantined: number }>(
    `SELECT ${rawRead} AS raw_read, raw_read.1 AS n_raw, raw_read.2 AS n_in, raw_read.3 AS oldest, raw_read.4 AS newest,
            (SELECT toUnixTimestamp64Micro(max(marked_at)) FROM ${ch.t('rollup_marks')}) AS ingested,
            (SELECT count() FROM ${ch.t('quarantine')} FINAL) AS quarantined`,
  );
  const rolled = plans.flatMap((p) => [...p.days, ...p.hours].map((u) => ({ ...u, inRange: p.flag === 'in' })));
  const executions = (row?.n_raw ?? 0) + rolled.reduce((sum, h) => sum + h.n, 0);
  const extremes = [row?.oldest, row?.newest, ...rolled.flatMap((h) => [h.first_us, h.last_us])].filter((v): v is number => v !== null && v !== undefined);
  const some = executions > 0;
  return {
    executions,
    oldest_started_at: some ? isoFromMicros(Math.min(...extremes)) : null,
    newest_started_at: some ? isoFromMicros(Math.max(...extremes)) : null,
    last_ingested_at: some ? isoFromMicros(row?.ingested ?? null) : null,
    quarantined_lines: row?.quarantined ?? 0,
    in_range: (row?.n_in ?? 0) > 0 || rolled.some((h) => h.inRange && h.n > 0),
  };
}

/**
 * The analytics of a ClickHouse store: the same questions as duckdb/, in ClickHouse's SQL.
 * `exportLags`: the export's lag per registered sink, for the export_lag alert kind (a serve
 * passes its export store's; without it the kind says it cannot be evaluated).
 */
export function clickhouseAnalytics(ch: ClickHouseDb, options: { exportLags?: AlertSignalQueries['exportLags'] } = {}): AnalyticsBackend {
  return {
    engine: 'clickhouse',
    coverage: (range) => extentOf(ch, range),
    async extent(): Promise<StoreExtent> {
      const { in_range: _r, ...extent } = await extentOf(ch);
      return extent;
    },
    metricsUsage: (range, filters) => clickhouseMetricsUsage(ch, range, filters),
    usage: clickhouseUsageQueries(ch),
    cost: clickhouseCostQueries(ch),
    toolUsage: clickhouseToolUsageQueries(ch),
    executions: clickhouseExecutionQueries(ch),
    trace: clickhouseTraceQueries(ch),
    spike: clickhouseSpikeQueries(ch),
    failures: clickhouseFailureQueries(ch),
    unused: clickhouseUnusedQueries(ch),
    catalog: clickhouseCatalogQueries(ch),
    myFailures: clickhouseMyFailuresQueries(ch),
    alertSignals: clickhouseAlertSignalQueries(ch, options),
  };
}
