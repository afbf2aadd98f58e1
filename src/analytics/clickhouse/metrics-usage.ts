import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import type { Filters } from '../filters.js';
import { metricsAnswer, metricsScope, type MetricsRow, type MetricsUsage } from '../metrics-usage.js';
import type { TimeRange } from '../time-range.js';
import { ChQuery } from './sql.js';

/** How far before a window a series' previous point is looked for (DuckDB forgets a series silent for a week). */
const SERIES_MEMORY_MS = 7 * 86_400_000;

/**
 * What the MCP operation-duration metrics say about a window. Every point is kept
 * (store/clickhouse/otlp.ts), so a cumulative point's calls are what it adds to the point before
 * it in its series, by time: all of it when the series restarted (a new start time, a smaller
 * count) or has no point before it. Exports of one series that reach two instances, or arrive
 * out of order, count the same; a point delivered twice is one row.
 */
export async function clickhouseMetricsUsage(ch: ClickHouseDb, range: TimeRange, filters: Filters): Promise<MetricsUsage | null> {
  const scope = metricsScope(filters);
  if (!scope) return null;
  const q = new ChQuery(ch);
  const inWindow = `minute >= ${q.time(range.from)} AND minute < ${q.time(range.to)}`;
  const rows = await q.all<MetricsRow>(
    `WITH points AS (
       SELECT minute, tool, server, side, failed, count, sum_ms,
              cumulative AND row_number() OVER w > 1 AND lagInFrame(start_ns) OVER w = start_ns AND count >= lagInFrame(count) OVER w AS continues,
              if(continues, count - lagInFrame(count) OVER w, count) AS calls,
              if(continues, sum_ms - lagInFrame(sum_ms) OVER w, sum_ms) AS duration
       FROM ${ch.t('mcp_metric_points')} FINAL
       WHERE minute >= ${q.time(new Date(range.from.getTime() - SERIES_MEMORY_MS))} AND minute < ${q.time(range.to)}
             ${scope.tool ? ` AND tool = ${q.value(scope.tool, 'String')}` : ''}${scope.server ? ` AND server = ${q.value(scope.server, 'String')}` : ''}
       WINDOW w AS (PARTITION BY series ORDER BY time_ns, start_ns ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
     )
     SELECT tool, server, side, sum(calls) AS calls, sumIf(calls, failed) AS failures, sum(duration) AS duration_ms
     FROM points WHERE ${inWindow} AND calls > 0 GROUP BY tool, server, side`,
  );
  return metricsAnswer(rows, 20);
}
