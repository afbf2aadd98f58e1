import type { AnalyticsBackend } from './backend.js';
import type { Filters } from './filters.js';
import { describeRange, previousRange, type TimeRange } from './time-range.js';
import { previousWindowCaveat } from './coverage.js';
import { round } from './usage.js';

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
  group_by: CostGroupBy;
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

export type CostGroupBy = 'user' | 'team' | 'tool';

export interface CostTotals {
  tasks: number;
  /** The sum of cost_usd, null when no execution of the window carries one. */
  cost: number | null;
  executions: number;
  no_cost: number;
  defaulted: number;
  prev_tasks: number;
}

export interface CostGroup {
  key: string | null;
  tasks: number;
  cost_usd: number | null;
  executions: number;
  previous_tasks: number;
  /** The inner groups with most tasks, at most topN (ties: by name). */
  top: Array<{ key: string | null; tasks: number; cost_usd: number | null }>;
}

/** The queries behind cost_by_user and cost_by_tool, answered by each engine (AnalyticsBackend). Sums are raw: the shaping rounds. */
export interface CostQueries {
  totals(range: TimeRange, previous: TimeRange, filters: Filters): Promise<CostTotals>;
  /**
   * The groups with an execution in the window, most tasks first (ties: by key, null last), at
   * most `limit`; each with its tasks in the previous window and its top inner groups (the users
   * of a tool; the tools of a user or team).
   */
  groups(range: TimeRange, previous: TimeRange, filters: Filters, groupBy: CostGroupBy, limit: number, topN: number): Promise<CostGroup[]>;
}

export const COST_GROUP_COLUMNS = { user: 'user_id', team: 'user_team', tool: 'tool_name' } as const;
/** The inner grouping of each: a tool's users, a user's or a team's tools. */
export const COST_INNER_COLUMNS = { user: 'tool_name', team: 'tool_name', tool: 'user_id' } as const;

const money = (value: number | null) => (value === null ? null : round(value, 4));

/**
 * Tasks (the cost unit: 1 per connector call unless the record says otherwise, the sum of the
 * steps for a workflow; resolved at ingest) and cost_usd where the logs carry it, per group.
 */
export async function costReport(
  backend: AnalyticsBackend,
  args: { range: TimeRange; filters: Filters; groupBy: CostGroupBy; limit: number; topN?: number },
): Promise<CostReport> {
  const previous = previousRange(args.range);
  const q = backend.cost;
  const [totals, groups, caveat] = await Promise.all([
    q.totals(args.range, previous, args.filters),
    q.groups(args.range, previous, args.filters, args.groupBy, args.limit + 1, args.topN ?? 3),
    previousWindowCaveat(backend, previous),
  ]);
  const total = round(totals.tasks, 6);
  const executions = totals.executions;
  return {
    window: describeRange(args.range),
    previous_window: describeRange(previous),
    filters: args.filters,
    group_by: args.groupBy,
    total_tasks: total,
    total_cost_usd: money(totals.cost),
    previous_total_tasks: round(totals.prev_tasks, 6),
    executions_without_cost_usd: totals.no_cost,
    executions,
    share_with_cost_usd: executions > 0 ? round((executions - totals.no_cost) / executions) : null,
    executions_with_default_tasks: totals.defaulted,
    previous_window_caveat: caveat,
    rows: groups.slice(0, args.limit).map((g) => {
      const tasks = round(g.tasks, 6);
      const previousTasks = round(g.previous_tasks, 6);
      return {
        key: g.key,
        tasks,
        cost_usd: money(g.cost_usd),
        executions: g.executions,
        share_of_tasks: total > 0 ? round(tasks / total) : null,
        previous_tasks: previousTasks,
        change_tasks: round(tasks - previousTasks, 6),
        top: g.top.map((t) => ({ key: t.key, tasks: round(t.tasks, 6), cost_usd: money(t.cost_usd) })),
      };
    }),
    has_more: groups.length > args.limit,
  };
}
