import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import type { AnalyticsBackend } from '../backend.js';
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
import { ChQuery, isoFromMicros } from './sql.js';
import { clickhouseUsageQueries } from './usage.js';

/** The store's extent, and whether `range` holds an execution when one is given. */
async function extentOf(ch: ClickHouseDb, range?: TimeRange): Promise<Coverage> {
  const q = new ChQuery(ch);
  const row = await q.one<{ n: number; oldest: number; newest: number; ingested: number; quarantined: number; in_range: number }>(
    `SELECT count() AS n, toUnixTimestamp64Micro(min(started_at)) AS oldest, toUnixTimestamp64Micro(max(started_at)) AS newest,
            toUnixTimestamp64Micro(max(ingested_at)) AS ingested,
            (SELECT count() FROM ${ch.t('quarantine')} FINAL) AS quarantined,
            ${range ? `countIf(${q.range(range)}) > 0` : 'false'} AS in_range
     FROM ${ch.t('executions')} FINAL`,
  );
  const some = (row?.n ?? 0) > 0;
  return {
    executions: row?.n ?? 0,
    oldest_started_at: some ? isoFromMicros(row!.oldest) : null,
    newest_started_at: some ? isoFromMicros(row!.newest) : null,
    last_ingested_at: some ? isoFromMicros(row!.ingested) : null,
    quarantined_lines: row?.quarantined ?? 0,
    in_range: Boolean(row?.in_range),
  };
}

/** The analytics of a ClickHouse store: the same questions as duckdb/, in ClickHouse's SQL. */
export function clickhouseAnalytics(ch: ClickHouseDb): AnalyticsBackend {
  return {
    engine: 'clickhouse',
    coverage: (range) => extentOf(ch, range),
    async extent(): Promise<StoreExtent> {
      const { in_range: _r, ...extent } = await extentOf(ch);
      return extent;
    },
    // OTLP metrics are not kept in ClickHouse yet: they say nothing, as in a DuckDB store without any.
    metricsUsage: async () => null,
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
  };
}
