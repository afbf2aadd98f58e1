import { STATUSES } from '../../model.js';
import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import { bucketStarts, type Bucket } from '../time-range.js';
import type { StatusCounts, UsageQueries } from '../usage.js';
import { ChQuery } from './sql.js';

const BUCKET_START: Record<Bucket, string> = {
  hour: 'toStartOfHour(started_at)',
  day: 'toDateTime(toDate(started_at))',
  week: 'toDateTime(toMonday(started_at))',
  month: 'toDateTime(toStartOfMonth(started_at))',
};

const STATUS_COUNTS = STATUSES.map((s) => `countIf(status = '${s}') AS n_${s}`).join(', ');

/** Counted straight from executions FINAL, grouped to the answer's level. */
export function clickhouseUsageQueries(ch: ClickHouseDb): UsageQueries {
  return {
    async series(range, filters, bucket) {
      const q = new ChQuery(ch);
      const rows = await q.all<Record<string, number>>(
        `SELECT toUnixTimestamp(${BUCKET_START[bucket]}) AS k, count() AS n_total, ${STATUS_COUNTS}, sum(tasks) AS s_tasks
         FROM ${q.executions(range, filters)} GROUP BY k`,
      );
      const byStart = new Map(rows.map((r) => [r.k! * 1000, r]));
      return bucketStarts(range, bucket).map((start) => {
        const r = byStart.get(start.getTime());
        const counts = Object.fromEntries(STATUSES.map((s) => [s, r?.[`n_${s}`] ?? 0])) as unknown as StatusCounts;
        return { start: start.toISOString(), total: r?.n_total ?? 0, ...counts, tasks: r?.s_tasks ?? 0 };
      });
    },
    async activeUsers(range, filters) {
      const q = new ChQuery(ch);
      const row = await q.one<{ users: number; workflow_users: number; connector_users: number }>(
        `SELECT uniqExact(user_id) AS users, uniqExactIf(user_id, tool_kind = 'workflow') AS workflow_users,
                uniqExactIf(user_id, tool_kind = 'connector') AS connector_users
         FROM ${q.executions(range, filters)}`,
      );
      return row ?? { users: 0, workflow_users: 0, connector_users: 0 };
    },
    async drivers(range, previous, filters) {
      const both = { from: previous.from, to: range.to };
      const top = async (column: 'tool_name' | 'user_id') => {
        const q = new ChQuery(ch);
        const from = q.time(range.from);
        // Counts are UInt64: their difference is taken as signed, or it wraps.
        const row = await q.one<{ name: string; n_current: number; n_previous: number }>(
          `SELECT ${column} AS name, countIf(started_at >= ${from}) AS n_current, countIf(started_at < ${from}) AS n_previous
           FROM ${q.executions(both, filters)}
           GROUP BY name ORDER BY abs(toInt64(n_current) - toInt64(n_previous)) DESC, name LIMIT 1`,
        );
        return row ? { name: row.name, current: row.n_current, previous: row.n_previous } : null;
      };
      const q = new ChQuery(ch);
      const [tool, user, total] = await Promise.all([
        top('tool_name'),
        top('user_id'),
        q.one<{ n: number }>(`SELECT count() AS n FROM ${q.executions(previous, filters)}`),
      ]);
      return { tool, user, previousTotal: total?.n ?? 0 };
    },
    async sampleIds(range, filters, limit) {
      const q = new ChQuery(ch);
      const rows = await q.all<{ id: string }>(
        `SELECT execution_id AS id FROM ${q.executions(range, filters)} ORDER BY started_at DESC, execution_id DESC LIMIT ${q.value(limit, 'UInt32')}`,
      );
      return rows.map((r) => r.id);
    },
  };
}
