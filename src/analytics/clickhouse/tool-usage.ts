import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import type { ToolUsageQueries } from '../tool-usage.js';
import { ChQuery, isoFromMicros } from './sql.js';

export function clickhouseToolUsageQueries(ch: ClickHouseDb): ToolUsageQueries {
  return {
    async breakdown(range, filters, column, limit) {
      const q = new ChQuery(ch);
      // quantileExactInclusive interpolates as DuckDB's quantile_cont does; a null duration is skipped by both.
      const rows = await q.all<Record<string, any>>(
        `SELECT ${column} AS key, count() AS n_runs, countIf(status = 'succeeded') AS n_succeeded,
                countIf(status IN ('failed', 'terminated')) AS n_failures, countIf(status != 'running') AS n_finished,
                sum(tasks) AS s_tasks, uniqExact(user_id) AS n_users,
                if(count(duration_ms) = 0, NULL, quantileExactInclusive(0.5)(assumeNotNull(duration_ms)) FILTER (WHERE duration_ms IS NOT NULL)) AS p50,
                if(count(duration_ms) = 0, NULL, quantileExactInclusive(0.95)(assumeNotNull(duration_ms)) FILTER (WHERE duration_ms IS NOT NULL)) AS p95,
                toUnixTimestamp64Micro(max(started_at)) AS last_us,
                argMax(execution_id, (started_at, execution_id)) AS sample,
                sum(count()) OVER () AS all_runs, count() OVER () AS all_groups
         FROM ${q.executions(range, filters)}
         GROUP BY key ORDER BY n_runs DESC, key ASC NULLS LAST LIMIT ${q.value(limit, 'UInt32')}`,
      );
      return {
        rows: rows.map((r) => ({
          key: r.key,
          runs: r.n_runs,
          succeeded: r.n_succeeded,
          failures: r.n_failures,
          finished: r.n_finished,
          tasks: r.s_tasks,
          distinct_users: r.n_users,
          p50_duration_ms: r.p50,
          p95_duration_ms: r.p95,
          last_used: isoFromMicros(r.last_us)!,
          sample_execution_id: r.sample,
        })),
        total_runs: rows[0]?.all_runs ?? 0,
        total_groups: rows[0]?.all_groups ?? 0,
      };
    },
  };
}
