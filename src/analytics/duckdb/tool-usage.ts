import type { Params, Reader } from '../../store/store.js';
import { whereClause } from '../filters.js';
import type { BreakdownCounts, ToolUsageQueries } from '../tool-usage.js';

export function duckdbToolUsageQueries(read: Reader): ToolUsageQueries {
  return {
    async breakdown(range, filters, column, limit) {
      const params: Params = { limit };
      const where = whereClause(range, filters, params);
      const rows = await read((db) =>
        db.all<BreakdownCounts & { total_runs: number; total_groups: number }>(
          `SELECT ${column} AS key,
                  count(*)::INTEGER AS runs,
                  count(*) FILTER (status = 'succeeded')::INTEGER AS succeeded,
                  count(*) FILTER (status IN ('failed', 'terminated'))::INTEGER AS failures,
                  count(*) FILTER (status <> 'running')::INTEGER AS finished,
                  coalesce(sum(tasks), 0)::DOUBLE AS tasks,
                  count(DISTINCT user_id)::INTEGER AS distinct_users,
                  quantile_cont(duration_ms, 0.5)::DOUBLE AS p50_duration_ms,
                  quantile_cont(duration_ms, 0.95)::DOUBLE AS p95_duration_ms,
                  iso(max(started_at)) AS last_used,
                  arg_max(execution_id, (started_at, execution_id)) AS sample_execution_id,
                  (sum(count(*)) OVER ())::INTEGER AS total_runs,
                  (count(*) OVER ())::INTEGER AS total_groups
           FROM executions WHERE ${where}
           GROUP BY 1 ORDER BY runs DESC, key NULLS LAST LIMIT $limit`,
          params,
        ),
      );
      return {
        rows: rows.map(({ total_runs: _t, total_groups: _g, ...row }) => row),
        total_runs: rows[0]?.total_runs ?? 0,
        total_groups: rows[0]?.total_groups ?? 0,
      };
    },
  };
}
