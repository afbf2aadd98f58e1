import type { Db, Params } from '../store/store.js';
import { whereClause, type Filters } from './filters.js';
import { describeRange, type TimeRange } from './time-range.js';

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

/** Runs per tool (or user, team, server, client), most used first. */
export async function toolUsage(
  db: Db,
  args: { range: TimeRange; filters: Filters; by: BreakdownDimension; limit: number },
): Promise<Breakdown> {
  const params: Params = { limit: args.limit + 1 };
  const where = whereClause(args.range, args.filters, params);
  const column = BREAKDOWN_DIMENSIONS[args.by];
  const rows = await db.all<BreakdownRow & { total_runs: number; total_groups: number }>(
    `SELECT ${column} AS key,
            count(*)::INTEGER AS runs,
            count(*) FILTER (status = 'succeeded')::INTEGER AS succeeded,
            count(*) FILTER (status IN ('failed', 'terminated'))::INTEGER AS failures,
            -- running executions have no outcome yet: they are left out of the rate
            round(count(*) FILTER (status = 'succeeded') / nullif(count(*) FILTER (status <> 'running'), 0), 3)::DOUBLE AS success_rate,
            coalesce(sum(tasks), 0)::DOUBLE AS tasks,
            count(DISTINCT user_id)::INTEGER AS distinct_users,
            round(quantile_cont(duration_ms, 0.5), 1)::DOUBLE AS p50_duration_ms,
            round(quantile_cont(duration_ms, 0.95), 1)::DOUBLE AS p95_duration_ms,
            iso(max(started_at)) AS last_used,
            arg_max(execution_id, started_at) AS sample_execution_id,
            (sum(count(*)) OVER ())::INTEGER AS total_runs,
            (count(*) OVER ())::INTEGER AS total_groups
     FROM executions WHERE ${where}
     GROUP BY 1 ORDER BY runs DESC, key NULLS LAST LIMIT $limit`,
    params,
  );
  const first = rows[0];
  return {
    window: describeRange(args.range),
    filters: args.filters,
    by: args.by,
    total_runs: first?.total_runs ?? 0,
    total_groups: first?.total_groups ?? 0,
    rows: rows.slice(0, args.limit).map(({ total_runs: _t, total_groups: _g, ...row }) => row),
    has_more: rows.length > args.limit,
  };
}

