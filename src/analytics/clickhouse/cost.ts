import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import { COST_GROUP_COLUMNS, COST_INNER_COLUMNS, type CostQueries } from '../cost.js';
import { ChQuery } from './sql.js';
import { usageSource } from './usage-rows.js';

/** Both windows in one read of the usage source (usageSource); `flag` tells them apart. */
export function clickhouseCostQueries(ch: ClickHouseDb): CostQueries {
  return {
    async totals(range, previous, filters) {
      const q = new ChQuery(ch);
      const source = await usageSource(q, [{ range: previous, flag: 'prev' }, { range, flag: 'cur' }], filters, 'day');
      const row = await q.one<Record<string, number | null>>(
        `SELECT sumIf(s_tasks, cur) AS t_tasks, sumIf(n, cur) AS n_executions, sumIf(s_cost, cur) AS t_cost,
                sumIf(n_no_cost, cur) AS n_without_cost, sumIf(n_defaulted, cur) AS n_tasks_defaulted,
                sumIf(s_tasks, NOT cur) AS t_prev_tasks
         FROM (SELECT *, flag = 'cur' AS cur FROM ${source})`,
      );
      return {
        tasks: row?.t_tasks ?? 0,
        executions: row?.n_executions ?? 0,
        cost: (row?.n_executions ?? 0) > (row?.n_without_cost ?? 0) ? (row?.t_cost ?? null) : null,
        no_cost: row?.n_without_cost ?? 0,
        defaulted: row?.n_tasks_defaulted ?? 0,
        prev_tasks: row?.t_prev_tasks ?? 0,
      };
    },
    async groups(range, previous, filters, groupBy, limit, topN) {
      const column = COST_GROUP_COLUMNS[groupBy];
      const inner = COST_INNER_COLUMNS[groupBy];
      const q = new ChQuery(ch);
      const source = await usageSource(q, [{ range: previous, flag: 'prev' }, { range, flag: 'cur' }], filters, 'day');
      // One read: summed per group and inner group (a tool's users, a user's tools), then rolled
      // up to the group, its inner groups of the window ranked into `top` (most tasks, then name).
      const rows = await q.all<{ key: string | null; t_tasks: number; t_cost: number | null; n_cost: number; n_executions: number; t_prev_tasks: number; tops: Array<[string, number, number | null, number]> }>(
        `SELECT key, sum(t_cur) AS t_tasks, sum(c_cur) AS t_cost, sum(nc_cur) AS n_cost, sum(n_cur) AS n_executions, sum(t_prev) AS t_prev_tasks,
                arraySlice(arraySort(x -> (-x.2, x.1), groupArrayIf((sub, t_cur, c_cur, nc_cur), n_cur > 0)), 1, ${q.value(topN, 'UInt32')}) AS tops
         FROM (
           SELECT ${column} AS key, ${inner} AS sub, sumIf(s_tasks, cur) AS t_cur, sumIf(s_cost, cur) AS c_cur,
                  sumIf(n - n_no_cost, cur) AS nc_cur, sumIf(n, cur) AS n_cur, sumIf(s_tasks, NOT cur) AS t_prev
           FROM (SELECT ${column}, ${inner}, s_tasks, s_cost, n, n_no_cost, flag = 'cur' AS cur FROM ${source})
           GROUP BY key, sub
         )
         GROUP BY key HAVING n_executions > 0
         ORDER BY t_tasks DESC, key ASC NULLS LAST
         LIMIT ${q.value(limit, 'UInt32')}`,
      );
      return rows.map((g) => ({
        key: g.key,
        tasks: g.t_tasks,
        cost_usd: g.n_cost > 0 ? g.t_cost : null,
        executions: g.n_executions,
        previous_tasks: g.t_prev_tasks,
        top: g.tops.map(([sub, tasks, cost, withCost]) => ({ key: sub, tasks, cost_usd: withCost > 0 ? cost : null })),
      }));
    },
  };
}
