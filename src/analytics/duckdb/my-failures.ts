import type { Reader } from '../../store/store.js';
import { BAD_STATUSES, type FailingStep, type MineRow, type MyFailuresQueries } from '../my-failures.js';
import { sqlTime, type TimeRange } from '../time-range.js';

const IN_WINDOW = 'started_at >= CAST($from AS TIMESTAMP) AND started_at < CAST($to AS TIMESTAMP)';
const windowParams = (range: TimeRange) => ({ from: sqlTime(range.from), to: sqlTime(range.to) });
const FAILED = "status IN ('failed', 'terminated')";

export function duckdbMyFailuresQueries(read: Reader): MyFailuresQueries {
  return {
    async mine(range, user, tool, limit) {
      const params = { ...windowParams(range), user, ...(tool ? { tool } : {}), limit };
      const where = `${IN_WINDOW} AND user_id = $user AND status IN ${BAD_STATUSES}${tool ? ' AND tool_name = $tool' : ''}`;
      const [rows, total] = await Promise.all([
        read((db) =>
          db.all<MineRow>(
            `SELECT execution_id, iso(started_at) AS started_at, status, tool_name AS tool, tool_server AS server, agent_client AS client,
                    error_type, error_layer, error_message
             FROM executions WHERE ${where} ORDER BY started_at DESC, execution_id DESC LIMIT $limit`,
            params,
          ),
        ),
        read((db) => db.one<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM executions WHERE ${where}`, params)),
      ]);
      return { rows, total: total?.n ?? 0 };
    },
    failingSteps: (ids) =>
      read((db) =>
        db.all<FailingStep>(
          `SELECT execution_id, arg_min(step_index, step_index) AS "index", arg_min(name, step_index) AS name, arg_min(connector, step_index) AS connector,
                  arg_min(auth_mode, step_index) AS auth_mode, arg_min(auth_identity, step_index) AS auth_identity
           FROM steps
           WHERE execution_key IN (SELECT execution_key_of(id) FROM (SELECT unnest(from_json($ids, '["VARCHAR"]')) AS id))
             AND ${FAILED}
           GROUP BY execution_id`,
          { ids: JSON.stringify(ids) },
        ),
      ),
    async fleet(range, user, tools) {
      const params = { ...windowParams(range), user, tools: JSON.stringify(tools) };
      const scope = `FROM executions WHERE ${IN_WINDOW} AND tool_name IN (SELECT unnest(from_json($tools, '["VARCHAR"]')))`;
      const [stats, errorTypes, connectors] = await Promise.all([
        read((db) =>
          db.all<Awaited<ReturnType<MyFailuresQueries['fleet']>>['stats'][number]>(
            `SELECT tool_name AS tool, arg_max(tool_server, (started_at, execution_id)) AS server,
                    count(*) FILTER (user_id <> $user)::INTEGER AS others_executions,
                    count(*) FILTER (user_id <> $user AND ${FAILED})::INTEGER AS others_failures,
                    count(DISTINCT user_id) FILTER (user_id <> $user AND ${FAILED})::INTEGER AS others_users_failed,
                    count(DISTINCT user_id) FILTER (user_id <> $user AND status = 'succeeded')::INTEGER AS others_users_succeeded,
                    count(*) FILTER (${FAILED})::INTEGER AS failures,
                    count(DISTINCT user_id) FILTER (${FAILED})::INTEGER AS users_affected,
                    iso(min(started_at) FILTER (${FAILED})) AS first_failure_at
             ${scope} GROUP BY tool_name`,
            params,
          ),
        ),
        read((db) => db.all<{ tool: string; value: string; n: number }>(`SELECT tool_name AS tool, error_type AS value, count(*)::INTEGER AS n ${scope} AND ${FAILED} AND error_type IS NOT NULL GROUP BY ALL`, params)),
        read((db) => db.all<{ tool: string; value: string; n: number }>(`SELECT tool_name AS tool, failing_connector AS value, count(*)::INTEGER AS n ${scope} AND ${FAILED} AND failing_connector IS NOT NULL GROUP BY ALL`, params)),
      ]);
      return { stats, errorTypes, connectors };
    },
  };
}
