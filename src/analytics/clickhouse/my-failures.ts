import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import { BAD_STATUSES, type MineRow, type MyFailuresQueries } from '../my-failures.js';
import type { TimeRange } from '../time-range.js';
import { ChQuery, isoFromMicros } from './sql.js';

const FAILED = "status IN ('failed', 'terminated')";

export function clickhouseMyFailuresQueries(ch: ClickHouseDb): MyFailuresQueries {
  const mineWhere = (q: ChQuery, range: TimeRange, user: string, tool: string | undefined) =>
    `${q.executions(range, {})} AND user_id = ${q.value(user, 'String')} AND status IN ${BAD_STATUSES}${tool ? ` AND tool_name = ${q.value(tool, 'String')}` : ''}`;
  return {
    async mine(range, user, tool, limit) {
      const q = new ChQuery(ch);
      const t = new ChQuery(ch);
      const [rows, total] = await Promise.all([
        q.all<Record<string, any>>(
          `SELECT execution_id, toUnixTimestamp64Micro(started_at) AS started_us, status, tool_name AS tool, tool_server AS server, agent_client AS client,
                  error_type, error_layer, error_message
           FROM ${mineWhere(q, range, user, tool)} ORDER BY started_at DESC, execution_id DESC LIMIT ${q.value(limit, 'UInt32')}`,
        ),
        t.one<{ n: number }>(`SELECT count() AS n FROM ${mineWhere(t, range, user, tool)}`),
      ]);
      return {
        rows: rows.map((r): MineRow => ({
          execution_id: r.execution_id, started_at: isoFromMicros(r.started_us)!, status: r.status, tool: r.tool, server: r.server, client: r.client,
          error_type: r.error_type, error_layer: r.error_layer, error_message: r.error_message,
        })),
        total: total?.n ?? 0,
      };
    },
    async failingSteps(ids) {
      const q = new ChQuery(ch);
      const rows = await q.all<{ execution_id: string; steps: string }>(
        `SELECT execution_id, steps FROM ${ch.t('executions')} FINAL WHERE execution_id IN ${q.value(ids, 'Array(String)')} AND step_count > 0`,
      );
      return rows.flatMap((r) => {
        const failed = (JSON.parse(r.steps) as Array<Record<string, any>>)
          .filter((s) => s.status === 'failed' || s.status === 'terminated')
          .sort((a, b) => a.index - b.index)[0];
        return failed
          ? [{ execution_id: r.execution_id, index: failed.index, name: failed.name, connector: failed.connector ?? null, auth_mode: failed.auth?.mode ?? null, auth_identity: failed.auth?.identity ?? null }]
          : [];
      });
    },
    async fleet(range, user, tools) {
      const scope = (q: ChQuery) => `${q.executions(range, {})} AND tool_name IN ${q.value(tools, 'Array(String)')}`;
      const s = new ChQuery(ch);
      const me = s.value(user, 'String');
      const e = new ChQuery(ch);
      const c = new ChQuery(ch);
      const [stats, errorTypes, connectors] = await Promise.all([
        s.all<Record<string, any>>(
          `SELECT tool_name AS tool, argMax(tool_server, (started_at, execution_id)) AS t_server,
                  countIf(user_id != ${me}) AS n1, countIf(user_id != ${me} AND ${FAILED}) AS n2,
                  uniqExactIf(user_id, user_id != ${me} AND ${FAILED}) AS n3, uniqExactIf(user_id, user_id != ${me} AND status = 'succeeded') AS n4,
                  countIf(${FAILED}) AS n5, uniqExactIf(user_id, ${FAILED}) AS n6,
                  if(n5 = 0, NULL, toUnixTimestamp64Micro(minIf(started_at, ${FAILED}))) AS first_us
           FROM ${scope(s)} GROUP BY tool`,
        ),
        e.all<{ tool: string; value: string; n: number }>(`SELECT tool_name AS tool, assumeNotNull(error_type) AS value, count() AS n FROM ${scope(e)} AND ${FAILED} AND error_type IS NOT NULL GROUP BY tool, value`),
        c.all<{ tool: string; value: string; n: number }>(`SELECT tool_name AS tool, assumeNotNull(failing_connector) AS value, count() AS n FROM ${scope(c)} AND ${FAILED} AND failing_connector IS NOT NULL GROUP BY tool, value`),
      ]);
      return {
        stats: stats.map((r) => ({
          tool: r.tool, server: r.t_server, others_executions: r.n1, others_failures: r.n2, others_users_failed: r.n3, others_users_succeeded: r.n4,
          failures: r.n5, users_affected: r.n6, first_failure_at: isoFromMicros(r.first_us),
        })),
        errorTypes,
        connectors,
      };
    },
  };
}
