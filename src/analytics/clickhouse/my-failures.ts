import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import { BAD_STATUSES, type MineRow, type MyFailuresQueries } from '../my-failures.js';
import type { TimeRange } from '../time-range.js';
import { readLateSteps, withLateSteps } from '../../store/clickhouse/late-steps.js';
import { ChQuery, isoFromMicros } from './sql.js';

const FAILED = "status IN ('failed', 'terminated')";

export function clickhouseMyFailuresQueries(ch: ClickHouseDb): MyFailuresQueries {
  const mineWhere = (q: ChQuery, range: TimeRange, user: string, tool: string | undefined) =>
    `${q.executions(range, {})} AND user_id = ${q.value(user, 'String')} AND status IN ${BAD_STATUSES}${tool ? ` AND tool_name = ${q.value(tool, 'String')}` : ''}`;
  return {
    async mine(range, user, tool, limit) {
      const q = new ChQuery(ch);
      // The rows and their count in one scan: the count is taken over every row, before the limit.
      const rows = await q.all<Record<string, any>>(
        `SELECT execution_id, toUnixTimestamp64Micro(started_at) AS started_us, status, tool_name AS tool, tool_server AS server, agent_client AS client,
                error_type, error_layer, error_message, count() OVER () AS total_n
         FROM ${mineWhere(q, range, user, tool)} ORDER BY started_at DESC, execution_id DESC LIMIT ${q.value(limit, 'UInt32')}`,
      );
      return {
        rows: rows.map((r): MineRow => ({
          execution_id: r.execution_id, started_at: isoFromMicros(r.started_us)!, status: r.status, tool: r.tool, server: r.server, client: r.client,
          error_type: r.error_type, error_layer: r.error_layer, error_message: r.error_message,
        })),
        // No row: nothing matched (the limit is at least 1).
        total: rows[0]?.total_n ?? 0,
      };
    },
    async failingSteps(ids) {
      const q = new ChQuery(ch);
      const late = await readLateSteps(ch, ids);
      const rows = await q.all<{ execution_id: string; steps: string }>(
        `SELECT execution_id, steps FROM ${ch.t('executions')} FINAL
         WHERE execution_id IN ${q.value(ids, 'Array(String)')} AND (step_count > 0 OR execution_id IN ${q.value([...late.keys()], 'Array(String)')})`,
      );
      return rows.flatMap((r) => {
        const failed = withLateSteps(JSON.parse(r.steps) as Array<Record<string, any>>, late.get(r.execution_id))
          .filter((s) => s.status === 'failed' || s.status === 'terminated')
          .sort((a, b) => a.index - b.index)[0];
        return failed
          ? [{ execution_id: r.execution_id, index: failed.index, name: failed.name, connector: failed.connector ?? null, auth_mode: failed.auth?.mode ?? null, auth_identity: failed.auth?.identity ?? null }]
          : [];
      });
    },
    async fleet(range, user, tools) {
      const q = new ChQuery(ch);
      const me = q.value(user, 'String');
      // One scan: the counts, and each failure's error type and failing connector counted in maps.
      const rows = await q.all<Record<string, any>>(
        `SELECT tool_name AS tool, argMax(tool_server, (started_at, execution_id)) AS t_server,
                countIf(user_id != ${me}) AS n1, countIf(user_id != ${me} AND ${FAILED}) AS n2,
                uniqExactIf(user_id, user_id != ${me} AND ${FAILED}) AS n3, uniqExactIf(user_id, user_id != ${me} AND status = 'succeeded') AS n4,
                countIf(${FAILED}) AS n5, uniqExactIf(user_id, ${FAILED}) AS n6,
                if(n5 = 0, NULL, toUnixTimestamp64Micro(minIf(started_at, ${FAILED}))) AS first_us,
                sumMapIf(map(toString(assumeNotNull(error_type)), toUInt64(1)), ${FAILED} AND error_type IS NOT NULL) AS error_types,
                sumMapIf(map(toString(assumeNotNull(failing_connector)), toUInt64(1)), ${FAILED} AND failing_connector IS NOT NULL) AS connectors
         FROM ${q.executions(range, {})} AND tool_name IN ${q.value(tools, 'Array(String)')} GROUP BY tool`,
      );
      const counted = (key: 'error_types' | 'connectors') =>
        rows.flatMap((r) => Object.entries(r[key] as Record<string, number>).map(([value, n]) => ({ tool: r.tool as string, value, n: Number(n) })));
      return {
        stats: rows.map((r) => ({
          tool: r.tool, server: r.t_server, others_executions: r.n1, others_failures: r.n2, others_users_failed: r.n3, others_users_succeeded: r.n4,
          failures: r.n5, users_affected: r.n6, first_failure_at: isoFromMicros(r.first_us),
        })),
        errorTypes: counted('error_types'),
        connectors: counted('connectors'),
      };
    },
  };
}
