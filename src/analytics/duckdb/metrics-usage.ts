import type { Db, Params } from '../../store/store.js';
import type { Filters } from '../filters.js';
import { metricsAnswer, metricsScope, type MetricsRow, type MetricsUsage } from '../metrics-usage.js';
import { sqlTime, type TimeRange } from '../time-range.js';

/** What the MCP operation-duration metrics say about a window (store/metrics.ts keeps them per minute). */
export async function metricsUsage(db: Db, args: { range: TimeRange; filters: Filters; limit?: number }): Promise<MetricsUsage | null> {
  const scope = metricsScope(args.filters);
  if (!scope) return null;
  const params: Params = { from: sqlTime(args.range.from), to: sqlTime(args.range.to), ...scope };
  const rows = await db.all<MetricsRow>(
    `SELECT tool_name AS tool, server, side, sum(calls)::DOUBLE AS calls, coalesce(sum(calls) FILTER (failed), 0)::DOUBLE AS failures, sum(duration_sum_ms)::DOUBLE AS duration_ms
     FROM mcp_metric_minutes
     WHERE minute >= CAST($from AS TIMESTAMP) AND minute < CAST($to AS TIMESTAMP)${scope.tool ? ' AND tool_name = $tool' : ''}${scope.server ? ' AND server = $server' : ''}
     GROUP BY ALL`,
    params,
  );
  return metricsAnswer(rows, args.limit);
}
