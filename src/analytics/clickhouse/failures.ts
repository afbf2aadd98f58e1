import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import type { FailureGroup, FailureQueries } from '../failures.js';
import { ChQuery, isoFromMicros } from './sql.js';

export function clickhouseFailureQueries(ch: ClickHouseDb): FailureQueries {
  return {
    async totals(range, filters) {
      const q = new ChQuery(ch);
      const row = await q.one<{ n_failures: number; n_finished: number }>(
        `SELECT countIf(status IN ('failed', 'terminated')) AS n_failures, countIf(status != 'running') AS n_finished FROM ${q.executions(range, filters)}`,
      );
      return { failures: row?.n_failures ?? 0, finished: row?.n_finished ?? 0 };
    },
    async groups(range, filters) {
      const q = new ChQuery(ch);
      const rows = await q.all<Record<string, any>>(
        `SELECT error_type AS e_type, error_layer AS e_layer, tool_name AS tool, failing_connector AS connector,
                count() AS n, countIf(status = 'terminated') AS n_terminated, uniqExact(user_id) AS n_users,
                toUnixTimestamp64Micro(min(started_at)) AS first_us, toUnixTimestamp64Micro(max(started_at)) AS last_us,
                argMax(execution_id, (started_at, execution_id)) AS sample
         FROM ${q.executions(range, filters)} AND status IN ('failed', 'terminated')
         GROUP BY e_type, e_layer, tool, connector
         ORDER BY n DESC, last_us DESC, e_type, e_layer, tool, connector`,
      );
      return rows.map((r): FailureGroup => ({
        error_type: r.e_type,
        error_layer: r.e_layer,
        tool: r.tool,
        connector: r.connector,
        count: r.n,
        terminated: r.n_terminated,
        affected_users: r.n_users,
        first_seen: isoFromMicros(r.first_us)!,
        last_seen: isoFromMicros(r.last_us)!,
        sample_execution_id: r.sample,
      }));
    },
  };
}
