import type { Params, Reader } from '../../store/store.js';
import { COST_GROUP_COLUMNS, COST_INNER_COLUMNS, type CostGroup, type CostQueries, type CostTotals } from '../cost.js';
import { flaggedUsageRows } from './usage-rows.js';

/**
 * Counted from hourly_usage (whole hours) and executions (the partial hours at the ends), both
 * windows in one read (flaggedUsageRows). A group whose executions were all replaced away sums
 * to zero executions and is left out.
 */
export function duckdbCostQueries(read: Reader): CostQueries {
  return {
    totals: async (range, previous, filters) => {
      const params: Params = {};
      const both = flaggedUsageRows('is_current', [{ range, flag: true }, { range: previous, flag: false }], filters, params, 'w_');
      const row = await read((db) =>
        db.one<CostTotals>(
          `SELECT coalesce(sum(tasks) FILTER (is_current), 0)::DOUBLE AS tasks,
                  coalesce(sum(executions) FILTER (is_current), 0)::INTEGER AS executions,
                  (sum(cost_usd) FILTER (is_current))::DOUBLE AS cost,
                  coalesce(sum(without_cost) FILTER (is_current), 0)::INTEGER AS no_cost,
                  coalesce(sum(tasks_defaulted) FILTER (is_current), 0)::INTEGER AS defaulted,
                  coalesce(sum(tasks) FILTER (NOT is_current), 0)::DOUBLE AS prev_tasks
           FROM ${both} AS u`,
          params,
        ),
      );
      return row ?? { tasks: 0, cost: null, executions: 0, no_cost: 0, defaulted: 0, prev_tasks: 0 };
    },
    groups: async (range, previous, filters, groupBy, limit, topN) => {
      const params: Params = { limit, top_n: topN };
      const both = flaggedUsageRows('is_current', [{ range, flag: true }, { range: previous, flag: false }], filters, params, 'w_');
      const column = COST_GROUP_COLUMNS[groupBy];
      const inner = COST_INNER_COLUMNS[groupBy];
      const rows = await read((db) =>
        db.all<Omit<CostGroup, 'top'> & { top: string | null }>(
          `WITH cur AS (SELECT * FROM ${both} AS u WHERE is_current),
           groups AS (
             SELECT ${column} AS key, sum(tasks)::DOUBLE AS tasks, (sum(cost_usd))::DOUBLE AS cost_usd,
                    sum(executions)::INTEGER AS executions
             FROM cur GROUP BY 1 HAVING sum(executions) <> 0
           ),
           prev AS (
             SELECT ${column} AS key, sum(tasks)::DOUBLE AS tasks FROM ${both} AS u WHERE NOT is_current GROUP BY 1
           ),
           inner_ranked AS (
             SELECT ${column} AS key, ${inner} AS sub, sum(tasks)::DOUBLE AS tasks, (sum(cost_usd))::DOUBLE AS cost_usd,
                    row_number() OVER (PARTITION BY ${column} ORDER BY sum(tasks) DESC, ${inner}) AS rn
             FROM cur GROUP BY 1, 2 HAVING sum(executions) <> 0
           ),
           tops AS (
             SELECT key, to_json(list({'key': sub, 'tasks': tasks, 'cost_usd': cost_usd} ORDER BY rn)) AS top
             FROM inner_ranked WHERE rn <= $top_n GROUP BY key
           )
           SELECT g.key, g.tasks, g.cost_usd, g.executions, coalesce(p.tasks, 0)::DOUBLE AS previous_tasks, t.top
           FROM groups g
           LEFT JOIN prev p ON p.key IS NOT DISTINCT FROM g.key
           LEFT JOIN tops t ON t.key IS NOT DISTINCT FROM g.key
           ORDER BY g.tasks DESC, g.key NULLS LAST
           LIMIT $limit`,
          params,
        ),
      );
      return rows.map((r) => ({ ...r, top: JSON.parse(r.top ?? '[]') }));
    },
  };
}
