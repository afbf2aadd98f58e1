import { STATUSES } from '../model.js';
import type { AnalyticsBackend } from './backend.js';
import type { Filters } from './filters.js';
import { describeRange, previousRange, seriesBucket, type Bucket, type TimeRange } from './time-range.js';
import { previousWindowCaveat } from './coverage.js';

export type { Bucket } from './time-range.js';

export interface StatusCounts {
  succeeded: number;
  failed: number;
  stopped: number;
  terminated: number;
  running: number;
}

export interface ChangeDriver {
  name: string | null;
  current: number;
  previous: number;
  delta: number;
  /** delta as a share of the whole window's change (can exceed 1 when others moved the other way). */
  share_of_change: number | null;
}

export interface UsageSummary {
  window: { from: string; to: string };
  filters: Filters;
  total_executions: number;
  by_status: StatusCounts;
  /** succeeded / finished (running excluded); null when nothing finished. */
  success_rate: number | null;
  active_users: { total: number; workflow_tool_users: number; connector_tool_users: number };
  tasks: number;
  bucket: Bucket;
  series: Array<{ start: string } & StatusCounts & { total: number }>;
  previous_window: { from: string; to: string; total_executions: number };
  /** percent is null, and caveat says why, when the previous window is not comparable (previousWindowCaveat). */
  change: { delta: number; percent: number | null; caveat?: string };
  top_tool_driver: ChangeDriver | null;
  top_user_driver: ChangeDriver | null;
  sample_execution_ids: string[];
}

export interface DriverCounts {
  name: string | null;
  current: number;
  previous: number;
}

/** The queries behind usage_summary, answered by each engine (AnalyticsBackend). */
export interface UsageQueries {
  /** One row per bucket of the range, empty buckets included, oldest first; `start` as RFC 3339 UTC with milliseconds. */
  series(range: TimeRange, filters: Filters, bucket: Bucket): Promise<Array<{ start: string; total: number; tasks: number } & StatusCounts>>;
  /** Distinct users with an execution in the range, in all and by tool kind. */
  activeUsers(range: TimeRange, filters: Filters): Promise<{ users: number; workflow_users: number; connector_users: number }>;
  /**
   * The tool and the user whose executions changed most between the two windows (ties: the
   * first name in order), null when the windows hold none; and the previous window's total.
   */
  drivers(range: TimeRange, previous: TimeRange, filters: Filters): Promise<{ tool: DriverCounts | null; user: DriverCounts | null; previousTotal: number }>;
  /** The ids of the latest executions of the range (ties: the greater id first). */
  sampleIds(range: TimeRange, filters: Filters, limit: number): Promise<string[]>;
}

/**
 * The window's totals, series, active users and change drivers. The queries are independent
 * and run side by side; the totals are summed from the series.
 */
export async function usageSummary(
  backend: AnalyticsBackend,
  args: { range: TimeRange; filters: Filters; bucket?: Bucket },
): Promise<UsageSummary> {
  const { range, filters } = args;
  const bucket = args.bucket ?? seriesBucket(range);
  const previous = previousRange(range);
  const q = backend.usage;
  const [seriesRows, users, drivers, samples, caveat] = await Promise.all([
    q.series(range, filters, bucket),
    q.activeUsers(range, filters),
    q.drivers(range, previous, filters),
    q.sampleIds(range, filters, 3),
    previousWindowCaveat(backend, previous),
  ]);
  const prevTotal = drivers.previousTotal;

  const totals: Record<string, number> = { total: 0, tasks: 0, ...Object.fromEntries(STATUSES.map((s) => [s, 0])) };
  const series = seriesRows.map(({ tasks, ...bucketRow }) => {
    for (const key of ['total', ...STATUSES]) totals[key]! += bucketRow[key as keyof typeof bucketRow] as number;
    totals.tasks! += tasks;
    return bucketRow;
  });
  const windowDelta = (totals.total ?? 0) - prevTotal;
  const driver = (counts: DriverCounts | null): ChangeDriver | null => {
    if (!counts || (counts.current === 0 && counts.previous === 0)) return null;
    const delta = counts.current - counts.previous;
    return { ...counts, delta, share_of_change: windowDelta === 0 ? null : round(delta / windowDelta) };
  };

  const total = totals.total ?? 0;
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, totals[s] ?? 0])) as unknown as StatusCounts;
  const finished = total - byStatus.running;
  const delta = total - prevTotal;
  return {
    window: describeRange(range),
    filters,
    total_executions: total,
    by_status: byStatus,
    success_rate: finished > 0 ? round(byStatus.succeeded / finished) : null,
    active_users: {
      total: users.users,
      workflow_tool_users: users.workflow_users,
      connector_tool_users: users.connector_users,
    },
    tasks: round(totals.tasks ?? 0, 6),
    bucket,
    series,
    previous_window: { ...describeRange(previous), total_executions: prevTotal },
    change: caveat ? { delta, percent: null, caveat } : { delta, percent: prevTotal ? round((delta / prevTotal) * 100, 1) : null },
    top_tool_driver: driver(drivers.tool),
    top_user_driver: driver(drivers.user),
    sample_execution_ids: samples,
  };
}

/**
 * Half up at `digits` decimals, after snapping away binary noise far below them: two engines
 * that add or interpolate in another order give 740.35 and 740.3499999999999, which must both
 * read 740.4.
 */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(Math.round(value * f * 1e6) / 1e6) / f;
}
