import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import { COST_GROUP_COLUMNS, COST_INNER_COLUMNS, type CostQueries } from '../cost.js';
import { ChQuery } from './sql.js';

/** Both windows in one read of executions FINAL; `cur` tells them apart. */
export function clickhouseCostQueries(ch: ClickHouseDb): CostQueries {
  return {
    async totals(range, previous, filters) {
      const q = new ChQuery(ch);
      const row = await q.one<Record<string, number | null>>(
        `SELECT sumIf(tasks, cur) AS s_tasks, countIf(cur) AS n_executions, sumIf(cost_usd, cur) AS s_cost,
                countIf(cur AND cost_usd IS NULL) AS n_no_cost, countIf(cur AND NOT tasks_given) AS n_defaulted,
                sumIf(tasks, NOT cur) AS s_prev_tasks
         FROM (SELECT tasks, cost_usd, tasks_given, started_at >= ${q.time(range.from)} AS cur
               FROM ${q.executions({ from: previous.from, to: range.to }, filters)})`,
      );
      return {
        tasks: row?.s_tasks ?? 0,
        executions: row?.n_executions ?? 0,
        cost: (row?.n_executions ?? 0) > (row?.n_no_cost ?? 0) ? (row?.s_cost ?? null) : null,
        no_cost: row?.n_no_cost ?? 0,
        defaulted: row?.n_defaulted ?? 0,
        prev_tasks: row?.s_prev_tasks ?? 0,
      };
    },
    async groups(range, previous, filters, groupBy, limit, topN) {
      const column = COST_GROUP_COLUMNS[groupBy];
      const inner = COST_INNER_COLUMNS[groupBy];
      const q = new ChQuery(ch);
      // One scan: summed per group and inner group (a tool's users, a user's tools), then rolled
      // up to the group, its inner groups of the window ranked into `top` (most tasks, then name).
      const rows = await q.all<{ key: string | null; s_tasks: number; s_cost: number | null; n_cost: number; n_executions: number; s_prev_tasks: number; tops: Array<[string, number, number | null, number]> }>(
        `SELECT key, sum(t_cur) AS s_tasks, sum(c_cur) AS s_cost, sum(nc_cur) AS n_cost, sum(n_cur) AS n_executions, sum(t_prev) AS s_prev_tasks,
                arraySlice(arraySort(x -> (-x.2, x.1), groupArrayIf((sub, t_cur, c_cur, nc_cur), n_cur > 0)), 1, ${q.value(topN, 'UInt32')}) AS tops
         FROM (
           SELECT ${column} AS key, ${inner} AS sub, sumIf(tasks, cur) AS t_cur, sumIf(cost_usd, cur) AS c_cur,
                  countIf(cur AND cost_usd IS NOT NULL) AS nc_cur, countIf(cur) AS n_cur, sumIf(tasks, NOT cur) AS t_prev
           FROM (SELECT ${column}, ${inner}, tasks, cost_usd, started_at >= ${q.time(range.from)} AS cur
                 FROM ${q.executions({ from: previous.from, to: range.to }, filters)})
           GROUP BY key, sub
         )
         GROUP BY key HAVING n_executions > 0
         ORDER BY s_tasks DESC, key ASC NULLS LAST
         LIMIT ${q.value(limit, 'UInt32')}`,
      );
      return rows.map((g) => ({
        key: g.key,
        tasks: g.s_tasks,
        cost_usd: g.n_cost > 0 ? g.s_cost : null,
        executions: g.n_executions,
        previous_tasks: g.s_prev_tasks,
        top: g.tops.map(([sub, tasks, cost, withCost]) => ({ key: sub, tasks, cost_usd: withCost > 0 ? cost : null })),
      }));
    },
  };
}
