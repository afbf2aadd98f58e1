import { STATUSES } from '../../model.js';
import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import { bucketStarts } from '../time-range.js';
import type { StatusCounts, UsageQueries } from '../usage.js';
import { BUCKET_START_SQL, ChQuery } from './sql.js';
import { usageSource } from './usage-rows.js';

const STATUS_COUNTS = STATUSES.map((s) => `sumIf(n, status = '${s}') AS n_${s}`).join(', ');

/** Counted from the hourly rollup where it is up to date, from executions FINAL elsewhere (usageSource). */
export function clickhouseUsageQueries(ch: ClickHouseDb): UsageQueries {
  return {
    async series(range, filters, bucket) {
      const q = new ChQuery(ch);
      const source = await usageSource(q, [{ range }], filters, bucket === 'hour' ? 'hour' : 'day');
      const rows = await q.all<Record<string, number>>(
        `SELECT toUnixTimestamp(${BUCKET_START_SQL[bucket]}) AS k, sum(n) AS n_total, ${STATUS_COUNTS}, sum(s_tasks) AS t_tasks
         FROM ${source} GROUP BY k`,
      );
      const byStart = new Map(rows.map((r) => [r.k! * 1000, r]));
      return bucketStarts(range, bucket).map((start) => {
        const r = byStart.get(start.getTime());
        const counts = Object.fromEntries(STATUSES.map((s) => [s, r?.[`n_${s}`] ?? 0])) as unknown as StatusCounts;
        return { start: start.toISOString(), total: r?.n_total ?? 0, ...counts, tasks: r?.t_tasks ?? 0 };
      });
    },
    async activeUsers(range, filters) {
      const q = new ChQuery(ch);
      const source = await usageSource(q, [{ range }], filters, 'day');
      // Grouped by user first: a few keys, where three exact distinct counts each kept a set of every user.
      const row = await q.one<{ users: number; workflow_users: number; connector_users: number }>(
        `SELECT count() AS users, countIf(has_workflow) AS workflow_users, countIf(has_connector) AS connector_users
         FROM (SELECT user_id, max(tool_kind = 'workflow') AS has_workflow, max(tool_kind = 'connector') AS has_connector
               FROM ${source} GROUP BY user_id)`,
      );
      return row ?? { users: 0, workflow_users: 0, connector_users: 0 };
    },
    async drivers(range, previous, filters) {
      const q = new ChQuery(ch);
      const source = await usageSource(q, [{ range: previous, flag: 'prev' }, { range, flag: 'cur' }], filters, 'day');
      // One read of both windows, grouped three ways; group_by_use_nulls leaves the rolled-up key
      // NULL (tool_name and user_id are never NULL otherwise), which tells the sets apart. Counts
      // are UInt64: their difference is taken as signed, or it wraps.
      const rows = await q.all<{ kind: 'tool' | 'user' | 'total'; name: string | null; n_current: number; n_previous: number }>(
        `SELECT multiIf(tool IS NOT NULL, 'tool', usr IS NOT NULL, 'user', 'total') AS kind, coalesce(tool, usr) AS name, n_current, n_previous
         FROM (
           SELECT tool_name AS tool, user_id AS usr, sumIf(n, flag = 'cur') AS n_current, sumIf(n, flag = 'prev') AS n_previous
           FROM ${source}
           GROUP BY GROUPING SETS ((tool_name), (user_id), ())
         )
         ORDER BY kind, abs(toInt64(n_current) - toInt64(n_previous)) DESC, name
         LIMIT 1 BY kind`,
      );
      const pick = (kind: 'tool' | 'user') => {
        const row = rows.find((r) => r.kind === kind);
        return row ? { name: row.name, current: row.n_current, previous: row.n_previous } : null;
      };
      return { tool: pick('tool'), user: pick('user'), previousTotal: rows.find((r) => r.kind === 'total')?.n_previous ?? 0 };
    },
    async sampleIds(range, filters, limit) {
      // The latest executions: looked for in the window's last day first (the skip index reads
      // only its granules), then in spans eight times longer, until enough or the whole window.
      for (let span = 86_400_000; ; span *= 8) {
        const within = { from: new Date(Math.max(range.from.getTime(), range.to.getTime() - span)), to: range.to };
        const q = new ChQuery(ch);
        const rows = await q.all<{ id: string }>(
          `SELECT execution_id AS id FROM ${q.executions(within, filters)} ORDER BY started_at DESC, execution_id DESC LIMIT ${q.value(limit, 'UInt32')}`,
        );
        if (rows.length >= limit || within.from.getTime() === range.from.getTime()) return rows.map((r) => r.id);
      }
    },
  };
}
