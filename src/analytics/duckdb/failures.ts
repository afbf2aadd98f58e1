import type { Params, Reader } from '../../store/store.js';
import type { FailureGroup, FailureQueries } from '../failures.js';
import { whereClause } from '../filters.js';
import { usageRows } from './usage-rows.js';

/**
 * The groups come from the narrow `failures` table (a few percent of the rows); the failure rate
 * needs the count of every status, which hourly_usage gives.
 */
export function duckdbFailureQueries(read: Reader): FailureQueries {
  return {
    async totals(range, filters) {
      const params: Params = {};
      const row = await read((db) =>
        db.one<{ failures: number; finished: number }>(
          `SELECT coalesce(sum(executions) FILTER (status IN ('failed', 'terminated')), 0)::INTEGER AS failures,
                  coalesce(sum(executions) FILTER (status <> 'running'), 0)::INTEGER AS finished
           FROM ${usageRows(range, filters, params, 't_')} AS u`,
          params,
        ),
      );
      return row ?? { failures: 0, finished: 0 };
    },
    groups(range, filters) {
      const params: Params = {};
      const where = whereClause(range, filters, params);
      return read((db) =>
        db.all<FailureGroup>(
          // Per user first, then per group: counting the users as rows is cheaper than a DISTINCT.
          `WITH per_user AS (
             SELECT error_type, error_layer, tool_name, failing_connector, user_id,
                    count(*) AS n, count(*) FILTER (status = 'terminated') AS terminated,
                    min(started_at) AS first, max(started_at) AS last, arg_max(execution_id, (started_at, execution_id)) AS sample
             FROM failures WHERE ${where}
             GROUP BY ALL
           )
           SELECT error_type, error_layer, tool_name AS tool, failing_connector AS connector,
                  sum(n)::INTEGER AS count, sum(terminated)::INTEGER AS terminated, count(*)::INTEGER AS affected_users,
                  iso(min(first)) AS first_seen, iso(max(last)) AS last_seen, arg_max(sample, (last, sample)) AS sample_execution_id
           FROM per_user
           GROUP BY 1, 2, 3, 4
           ORDER BY count DESC, max(last) DESC, error_type, error_layer, tool, connector`,
          params,
        ),
      );
    },
  };
}
