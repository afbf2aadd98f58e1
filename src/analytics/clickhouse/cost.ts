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
      const groups = await q.all<{ key: string | null; s_tasks: number; s_cost: number | null; n_cost: number; n_executions: number; s_prev_tasks: number }>(
        `SELECT ${column} AS key, sumIf(tasks, cur) AS s_tasks, sumIf(cost_usd, cur) AS s_cost, countIf(cur AND cost_usd IS NOT NULL) AS n_cost,
                countIf(cur) AS n_executions, sumIf(tasks, NOT cur) AS s_prev_tasks
         FROM (SELECT ${column}, tasks, cost_usd, started_at >= ${q.time(range.from)} AS cur
               FROM ${q.executions({ from: previous.from, to: range.to }, filters)})
         GROUP BY key HAVING n_executions > 0
         ORDER BY s_tasks DESC, key ASC NULLS LAST
         LIMIT ${q.value(limit, 'UInt32')}`,
      );
      if (groups.length === 0) return [];
      const t = new ChQuery(ch);
      const keys = groups.map((g) => g.key).filter((k): k is string => k !== null);
      const tops = await t.all<{ key: string | null; sub: string; s_tasks: number; s_cost: number | null; n_cost: number }>(
        `SELECT key, sub, s_tasks, s_cost, n_cost FROM (
           SELECT ${column} AS key, ${inner} AS sub, sum(tasks) AS s_tasks, sum(cost_usd) AS s_cost, countIf(cost_usd IS NOT NULL) AS n_cost,
                  row_number() OVER (PARTITION BY key ORDER BY s_tasks DESC, sub ASC) AS rn
           FROM ${t.executions(range, filters)}
             AND (${column} IN ${t.value(keys, 'Array(String)')} OR (${column} IS NULL AND ${t.value(keys.length < groups.length, 'Bool')}))
           GROUP BY key, sub
         ) WHERE rn <= ${t.value(topN, 'UInt32')} ORDER BY key, rn`,
      );
      const topOf = new Map<string | null, Array<{ key: string | null; tasks: number; cost_usd: number | null }>>();
      for (const r of tops) {
        const list = topOf.get(r.key) ?? [];
        list.push({ key: r.sub, tasks: r.s_tasks, cost_usd: r.n_cost > 0 ? r.s_cost : null });
        topOf.set(r.key, list);
      }
      return groups.map((g) => ({
        key: g.key,
        tasks: g.s_tasks,
        cost_usd: g.n_cost > 0 ? g.s_cost : null,
        executions: g.n_executions,
        previous_tasks: g.s_prev_tasks,
        top: topOf.get(g.key) ?? [],
      }));
    },
  };
}
