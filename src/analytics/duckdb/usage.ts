import { STATUSES } from '../../model.js';
import type { Params, Reader } from '../../store/store.js';
import { whereClause } from '../filters.js';
import { bucketKey, sqlTime } from '../time-range.js';
import type { StatusCounts, UsageQueries } from '../usage.js';
import { flaggedUsageRows, usageRows } from './usage-rows.js';

const STATUS_SUMS = STATUSES.map((s) => `coalesce(sum(executions) FILTER (status = '${s}'), 0)::INTEGER AS ${s}`).join(', ');

/**
 * Counted from hourly_usage (see usageRows): at 10M executions that reads about 12x fewer rows
 * than the executions themselves. Only the sample ids are read from executions.
 */
export function duckdbUsageQueries(read: Reader): UsageQueries {
  return {
    series: (range, filters, bucket) => {
      const params: Params = { bucket_from: sqlTime(range.from), bucket_to: sqlTime(range.to) };
      const current = usageRows(range, filters, params, 'c_');
      return read((db) =>
        db.all<{ start: string; total: number; tasks: number } & StatusCounts>(
          `WITH buckets AS (
             SELECT unnest(generate_series(date_trunc('${bucket}', CAST($bucket_from AS TIMESTAMP)), CAST($bucket_to AS TIMESTAMP) - INTERVAL 1 MICROSECOND, INTERVAL 1 ${bucket})) AS start
           ),
           counts AS (
             SELECT ${bucketKey(bucket, 'hour')} AS k, sum(executions)::INTEGER AS total, ${STATUS_SUMS},
                    coalesce(sum(tasks), 0)::DOUBLE AS tasks
             FROM ${current} AS u GROUP BY 1
           )
           SELECT iso(b.start) AS start, coalesce(c.total, 0) AS total,
                  ${STATUSES.map((s) => `coalesce(c.${s}, 0) AS ${s}`).join(', ')}, coalesce(c.tasks, 0) AS tasks
           FROM buckets b LEFT JOIN counts c ON c.k = ${bucketKey(bucket, 'b.start')} ORDER BY b.start`,
          params,
        ),
      );
    },
    activeUsers: async (range, filters) => {
      const params: Params = {};
      const current = usageRows(range, filters, params, 'c_');
      const row = await read((db) =>
        db.one<{ users: number; workflow_users: number; connector_users: number }>(
          `SELECT count(DISTINCT user_id)::INTEGER AS users,
                  count(DISTINCT user_id) FILTER (tool_kind = 'workflow')::INTEGER AS workflow_users,
                  count(DISTINCT user_id) FILTER (tool_kind = 'connector')::INTEGER AS connector_users
           FROM (SELECT user_id, tool_kind FROM ${current} AS u GROUP BY ALL HAVING sum(executions) > 0)`,
          params,
        ),
      );
      return row ?? { users: 0, workflow_users: 0, connector_users: 0 };
    },
    // The tool and the user that moved the total most, and the previous window's total, from one read of both windows.
    drivers: async (range, previous, filters) => {
      const params: Params = {};
      const both = flaggedUsageRows('is_current', [{ range, flag: true }, { range: previous, flag: false }], filters, params, 'b_');
      const rows = await read((db) =>
        db.all<{ tool: string | null; user: string | null; grouping: number; current: number; previous: number }>(
          `SELECT tool_name AS tool, user_id AS "user", GROUPING(tool_name, user_id)::INTEGER AS grouping,
                  coalesce(sum(executions) FILTER (is_current), 0)::INTEGER AS current,
                  coalesce(sum(executions) FILTER (NOT is_current), 0)::INTEGER AS previous
           FROM ${both} AS u
           GROUP BY GROUPING SETS ((tool_name), (user_id), ())
           QUALIFY row_number() OVER (PARTITION BY GROUPING(tool_name, user_id)
                                      ORDER BY abs(current - previous) DESC, tool_name, user_id) = 1`,
          params,
        ),
      );
      // GROUPING(tool_name, user_id): 1 for the tool rows, 2 for the user rows, 3 for the grand total.
      const pick = (grouping: number, name: 'tool' | 'user') => {
        const row = rows.find((r) => r.grouping === grouping);
        return row ? { name: row[name], current: row.current, previous: row.previous } : null;
      };
      return { tool: pick(1, 'tool'), user: pick(2, 'user'), previousTotal: rows.find((r) => r.grouping === 3)?.previous ?? 0 };
    },
    sampleIds: async (range, filters, limit) => {
      const params: Params = { limit };
      const rows = await read((db) =>
        db.all<{ id: string }>(
          `SELECT execution_id AS id FROM executions WHERE ${whereClause(range, filters, params)} ORDER BY started_at DESC, execution_id DESC LIMIT $limit`,
          params,
        ),
      );
      return rows.map((r) => r.id);
    },
  };
}
