import type { Db, Params } from '../../store/store.js';
import type { Filters } from '../filters.js';
import type { MetricsUsage } from '../metrics-usage.js';
import { sqlTime, type TimeRange } from '../time-range.js';

/**
 * What the MCP operation-duration metrics say about a window (store/metrics.ts), or null when
 * they say nothing: no metrics there, or a filter they cannot answer (metrics carry no user,
 * team, client or environment). Where a tool is measured on both sides, the server's figures
 * are used, so one call is not counted twice.
 */
export async function metricsUsage(db: Db, args: { range: TimeRange; filters: Filters; limit?: number }): Promise<MetricsUsage | null> {
  const { tool, server, ...others } = args.filters;
  if (Object.values(others).some((v) => v !== undefined)) return null;
  const params: Params = { from: sqlTime(args.range.from), to: sqlTime(args.range.to), limit: args.limit ?? 20 };
  if (tool) params.tool = tool;
  if (server) params.server = server;
  const rows = await db.all<MetricsUsage['tools'][number]>(
    `WITH m AS (
       SELECT tool_name, server, side, sum(calls)::DOUBLE AS calls, coalesce(sum(calls) FILTER (failed), 0)::DOUBLE AS failures, sum(duration_sum_ms) AS duration
       FROM mcp_metric_minutes
       WHERE minute >= CAST($from AS TIMESTAMP) AND minute < CAST($to AS TIMESTAMP)${tool ? ' AND tool_name = $tool' : ''}${server ? ' AND server = $server' : ''}
       GROUP BY ALL
     ),
     sided AS (SELECT *, bool_or(side = 'server') OVER (PARTITION BY tool_name) AS has_server FROM m)
     SELECT tool_name AS tool, server, side, calls, failures, round(duration / nullif(calls, 0), 1)::DOUBLE AS mean_duration_ms
     FROM sided WHERE side = 'server' OR NOT has_server
     ORDER BY calls DESC, tool_name`,
    params,
  );
  if (rows.length === 0) return null;
  return {
    calls: rows.reduce((a, r) => a + r.calls, 0),
    failures: rows.reduce((a, r) => a + r.failures, 0),
    tools: rows.slice(0, args.limit ?? 20),
  };
}
