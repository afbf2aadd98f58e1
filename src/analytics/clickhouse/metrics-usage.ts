import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import type { Filters } from '../filters.js';
import { metricsAnswer, metricsScope, type MetricsRow, type MetricsUsage } from '../metrics-usage.js';
import type { TimeRange } from '../time-range.js';
import { ChQuery } from './sql.js';

/** How far before a window a series' previous point is looked for (DuckDB forgets a series silent for a week). */
const SERIES_MEMORY_MS = 7 * 86_400_000;

/**
 * What the MCP operation-duration metrics say about a window. Every point is kept
 * (store/clickhouse/otlp.ts) and nothing is computed as points arrive, since exports of one
 * series may reach several instances, out of order. A cumulative series adds, in each run of one
 * start time, its highest count less the count it had before the window (its last point before
 * it, within SERIES_MEMORY_MS, when of the same run), or all of it when the run starts in the
 * window: what the point-by-point differences DuckDB stores add up to, in any arrival order, as
 * long as a count falls only with a new start time (the OpenTelemetry data model's rule; DuckDB
 * would read a fall without one as a restart). A delta series adds its points, each once however
 * often it was delivered.
 *
 * Aggregated per run rather than point after point in order, which needed a sort of every point
 * of the window (bench/results.md, section 16d). Not read FINAL: a repeated point changes no
 * highest count, and delta points are counted distinct.
 */
export async function clickhouseMetricsUsage(ch: ClickHouseDb, range: TimeRange, filters: Filters): Promise<MetricsUsage | null> {
  const scope = metricsScope(filters);
  if (!scope) return null;
  const q = new ChQuery(ch);
  const from = q.time(range.from);
  const scoped = `${scope.tool ? ` AND tool = ${q.value(scope.tool, 'String')}` : ''}${scope.server ? ` AND server = ${q.value(scope.server, 'String')}` : ''}`;
  const points = ch.t('mcp_metric_points');
  const rows = await q.all<MetricsRow>(
    `WITH runs AS (
       SELECT series, start_ns, any(cumulative) AS cumulative, any(tool) AS tool, any(server) AS server, any(side) AS side, any(failed) AS failed,
              max(count) AS top, min(count) AS bottom, max(sum_ms) AS top_ms, groupUniqArrayIf((time_ns, count, sum_ms), NOT cumulative) AS deltas
       FROM ${points} WHERE minute >= ${from} AND minute < ${q.time(range.to)}${scoped} GROUP BY series, start_ns
     ),
     seeds AS (
       SELECT series, argMax((start_ns, count, sum_ms), time_ns) AS last FROM ${points}
       WHERE minute >= ${q.time(new Date(range.from.getTime() - SERIES_MEMORY_MS))} AND minute < ${from}${scoped} GROUP BY series
     )
     SELECT tool, server, side, sum(calls) AS calls, coalesce(sumIf(calls, failed), 0) AS failures, sum(duration) AS duration_ms
     FROM (
       SELECT r.tool AS tool, r.server AS server, r.side AS side, r.failed AS failed,
              r.cumulative AND s.last.1 = r.start_ns AND s.last.2 <= r.bottom AS continues,
              if(r.cumulative, r.top - if(continues, s.last.2, 0), arraySum(d -> d.2, r.deltas)) AS calls,
              if(r.cumulative, r.top_ms - if(continues, s.last.3, 0), arraySum(d -> d.3, r.deltas)) AS duration
       FROM runs AS r LEFT JOIN seeds AS s ON s.series = r.series
     )
     WHERE calls > 0 GROUP BY tool, server, side`,
  );
  return metricsAnswer(rows, 20);
}
