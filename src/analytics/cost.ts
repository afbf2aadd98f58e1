import type { Db, Params } from '../store/store.js';
import type { Filters } from './filters.js';
import { describeRange, previousRange, type TimeRange } from './time-range.js';
import { previousWindowCaveat } from './coverage.js';
import { round } from './usage.js';
import { flaggedUsageRows } from './usage-rows.js';

export interface CostRow {
  key: string | null;
  tasks: number;
  cost_usd: number | null;
  executions: number;
  share_of_tasks: number | null;
  previous_tasks: number;
  change_tasks: number;
  /** For a user or team: its top tools; for a tool: its top users. */
  top: Array<{ key: string | null; tasks: number; cost_usd: number | null }>;
}

export interface CostReport {
  window: { from: string; to: string };
  previous_window: { from: string; to: string };
  filters: Filters;
  group_by: 'user' | 'team' | 'tool';
  total_tasks: number;
  total_cost_usd: number | null;
  previous_total_tasks: number;
  /** Executions without cost_usd: the money total covers only the rest. */
  executions_without_cost_usd: number;
  /** Executions in the window, and the share of them that carry a cost_usd (null when none ran). */
  executions: number;
  share_with_cost_usd: number | null;
  /**
   * Executions whose record states no tasks (tasksGiven), counted at the default: 1 per call, or
   * per step of a workflow. Executions stored before that was recorded are not counted here.
   */
  executions_with_default_tasks: number;
  /** Why the change against the previous window is not given, when it would mislead (previousWindowCaveat). */
  previous_window_caveat: string | null;
  rows: CostRow[];
  has_more: boolean;
}

const GROUP_COLUMNS = { user: 'user_id', team: 'user_team', tool: 'tool_name' } as const;

/**
 * Counted from hourly_usage (whole hours) and executions (the partial hours at the ends).
 * Tasks (the cost unit: 1 per connector call unless the record says otherwise, the sum of the
 * steps for a workflow; resolved at ingest) and cost_usd where the logs carry it.
 */
export async function costReport(
  db: Db,
  args: { range: TimeRange; filters: Filters; groupBy: 'user' | 'team' | 'tool'; limit: number; topN?: number },
): Promise<CostReport> {
  const previous = previousRange(args.range);
  const params: Params = { limit: args.limit + 1, top_n: args.topN ?? 3 };
  const both = flaggedUsageRows('is_current', [{ range: args.range, flag: true }, { range: previous, flag: false }], args.filters, params, 'w_');
  const column = GROUP_COLUMNS[args.groupBy];
  const inner = args.groupBy === 'tool' ? 'user_id' : 'tool_name';

  const totals = await db.one<{ tasks: number; cost: number | null; no_cost: number; defaulted: number; executions: number; prev_tasks: number }>(
    `SELECT coalesce(sum(tasks) FILTER (is_current), 0)::DOUBLE AS tasks,
            coalesce(sum(executions) FILTER (is_current), 0)::INTEGER AS executions,
            round(sum(cost_usd) FILTER (is_current), 4)::DOUBLE AS cost,
            coalesce(sum(without_cost) FILTER (is_current), 0)::INTEGER AS no_cost,
            coalesce(sum(tasks_defaulted) FILTER (is_current), 0)::INTEGER AS defaulted,
            coalesce(sum(tasks) FILTER (NOT is_current), 0)::DOUBLE AS prev_tasks
     FROM ${both} AS u`,
    params,
  );
  // Sums over hourly_usage (see usageRows); a group whose executions were all replaced away
  // sums to zero executions and is left out.
  const rows = await db.all<Omit<CostRow, 'top' | 'share_of_tasks'> & { top: string }>(
    `WITH cur AS (SELECT * FROM ${both} AS u WHERE is_current),
     groups AS (
       SELECT ${column} AS key, sum(tasks)::DOUBLE AS tasks, round(sum(cost_usd), 4)::DOUBLE AS cost_usd,
              sum(executions)::INTEGER AS executions
       FROM cur GROUP BY 1 HAVING sum(executions) <> 0
     ),
     prev AS (
       SELECT ${column} AS key, sum(tasks)::DOUBLE AS tasks FROM ${both} AS u WHERE NOT is_current GROUP BY 1
     ),
     inner_ranked AS (
       SELECT ${column} AS key, ${inner} AS sub, sum(tasks)::DOUBLE AS tasks, round(sum(cost_usd), 4)::DOUBLE AS cost_usd,
              row_number() OVER (PARTITION BY ${column} ORDER BY sum(tasks) DESC, ${inner}) AS rn
       FROM cur GROUP BY 1, 2 HAVING sum(executions) <> 0
     ),
     tops AS (
       SELECT key, to_json(list({'key': sub, 'tasks': tasks, 'cost_usd': cost_usd} ORDER BY rn)) AS top
       FROM inner_ranked WHERE rn <= $top_n GROUP BY key
     )
     SELECT g.key, g.tasks, g.cost_usd, g.executions,
            coalesce(p.tasks, 0)::DOUBLE AS previous_tasks,
            (g.tasks - coalesce(p.tasks, 0))::DOUBLE AS change_tasks,
            t.top
     FROM groups g
     LEFT JOIN prev p ON p.key IS NOT DISTINCT FROM g.key
     LEFT JOIN tops t ON t.key IS NOT DISTINCT FROM g.key
     ORDER BY g.tasks DESC, g.key NULLS LAST
     LIMIT $limit`,
    params,
  );
  const total = totals?.tasks ?? 0;
  const executions = totals?.executions ?? 0;
  const caveat = await previousWindowCaveat(db, previous);
  return {
    window: describeRange(args.range),
    previous_window: describeRange(previous),
    filters: args.filters,
    group_by: args.groupBy,
    total_tasks: total,
    total_cost_usd: totals?.cost ?? null,
    previous_total_tasks: totals?.prev_tasks ?? 0,
    executions_without_cost_usd: totals?.no_cost ?? 0,
    executions,
    share_with_cost_usd: executions > 0 ? round((executions - (totals?.no_cost ?? 0)) / executions) : null,
    executions_with_default_tasks: totals?.defaulted ?? 0,
    previous_window_caveat: caveat,
    rows: rows.slice(0, args.limit).map((r) => ({
      ...r,
      share_of_tasks: total > 0 ? round(r.tasks / total) : null,
      top: JSON.parse(r.top ?? '[]'),
    })),
    has_more: rows.length > args.limit,
  };
}
