import type { AnalyticsBackend } from './backend.js';
import type { Filters } from './filters.js';
import { describeRange, type TimeRange } from './time-range.js';
import { round } from './usage.js';

export const BREAKDOWN_DIMENSIONS = {
  tool: 'tool_name',
  user: 'user_id',
  team: 'user_team',
  server: 'tool_server',
  client: 'agent_client',
} as const;
export type BreakdownDimension = keyof typeof BREAKDOWN_DIMENSIONS;

export interface BreakdownRow {
  key: string | null;
  runs: number;
  succeeded: number;
  failures: number;
  success_rate: number | null;
  tasks: number;
  distinct_users: number;
  p50_duration_ms: number | null;
  p95_duration_ms: number | null;
  last_used: string;
  sample_execution_id: string;
}

export interface Breakdown {
  window: { from: string; to: string };
  filters: Filters;
  by: BreakdownDimension;
  total_runs: number;
  total_groups: number;
  rows: BreakdownRow[];
  has_more: boolean;
}

/** One group's counts as an engine returns them: raw, rounded by the shaping. */
export type BreakdownCounts = Omit<BreakdownRow, 'success_rate'> & { finished: number };

export interface ToolUsageQueries {
  /**
   * Groups of the range by `column`, most runs first (ties: by key, null last), at most `limit`;
   * with the number of runs and groups in all. Percentiles interpolate linearly between ranks.
   * The sample is the latest execution (ties: the greatest id).
   */
  breakdown(range: TimeRange, filters: Filters, column: string, limit: number): Promise<{ rows: BreakdownCounts[]; total_runs: number; total_groups: number }>;
}

/** Runs per tool (or user, team, server, client), most used first. */
export async function toolUsage(
  backend: AnalyticsBackend,
  args: { range: TimeRange; filters: Filters; by: BreakdownDimension; limit: number },
): Promise<Breakdown> {
  const { rows, total_runs, total_groups } = await backend.toolUsage.breakdown(args.range, args.filters, BREAKDOWN_DIMENSIONS[args.by], args.limit + 1);
  const oneDecimal = (v: number | null) => (v === null ? null : round(v, 1));
  return {
    window: describeRange(args.range),
    filters: args.filters,
    by: args.by,
    total_runs,
    total_groups,
    rows: rows.slice(0, args.limit).map(({ finished, ...r }) => ({
      key: r.key,
      runs: r.runs,
      succeeded: r.succeeded,
      failures: r.failures,
      // running executions have no outcome yet: they are left out of the rate
      success_rate: finished > 0 ? round(r.succeeded / finished) : null,
      tasks: round(r.tasks, 6),
      distinct_users: r.distinct_users,
      p50_duration_ms: oneDecimal(r.p50_duration_ms),
      p95_duration_ms: oneDecimal(r.p95_duration_ms),
      last_used: r.last_used,
      sample_execution_id: r.sample_execution_id,
    })),
    has_more: rows.length > args.limit,
  };
}
