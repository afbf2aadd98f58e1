import type { Params, Reader } from '../store/store.js';
import { whereClause, type Filters } from './filters.js';
import { describeRange, type TimeRange } from './time-range.js';

export interface FailureGroup {
  error_type: string | null;
  error_layer: string | null;
  tool: string;
  /** The connector of the step that failed (workflows), or null for a connector tool's own failure. */
  connector: string | null;
  count: number;
  terminated: number;
  affected_users: number;
  first_seen: string;
  last_seen: string;
  sample_execution_id: string;
}

export interface FailureReport {
  window: { from: string; to: string };
  filters: Filters;
  total_failures: number;
  /** Of all finished executions in the window, the share that failed or were terminated. */
  failure_rate: number | null;
  by_layer: Array<{ layer: string | null; count: number }>;
  groups: FailureGroup[];
  has_more: boolean;
}

/**
 * Failed and terminated executions grouped by error type, layer, tool and failing connector.
 * The groups come from the narrow `failures` table (a few percent of the rows); the failure rate
 * needs every execution's status and is counted in parallel on another read connection.
 */
export async function failureReport(
  read: Reader,
  args: { range: TimeRange; filters: Filters; limit: number },
): Promise<FailureReport> {
  const params: Params = {};
  const { status: _ignored, ...filters } = args.filters;
  const where = whereClause(args.range, filters, params);
  const totalsRead = read((db) =>
    db.one<{ failures: number; finished: number }>(
      `SELECT count(*) FILTER (status IN ('failed', 'terminated'))::INTEGER AS failures,
              count(*) FILTER (status <> 'running')::INTEGER AS finished
       FROM executions WHERE ${where}`,
      params,
    ),
  );
  totalsRead.catch(() => undefined); // awaited below; never left rejecting unobserved
  // Every group comes back (a few hundred rows at most): the layer totals are summed from them,
  // which saves a second query, and the page is cut here.
  const groups = await read((db) =>
    db.all<FailureGroup>(
      `SELECT error_type, error_layer, tool_name AS tool, failing_connector AS connector,
              count(*)::INTEGER AS count,
              count(*) FILTER (status = 'terminated')::INTEGER AS terminated,
              count(DISTINCT user_id)::INTEGER AS affected_users,
              iso(min(started_at)) AS first_seen, iso(max(started_at)) AS last_seen,
              arg_max(execution_id, started_at) AS sample_execution_id
       FROM failures WHERE ${where}
       GROUP BY 1, 2, 3, 4
       ORDER BY count DESC, last_seen DESC`,
      params,
    ),
  );
  const layerCounts = new Map<string | null, number>();
  for (const g of groups) layerCounts.set(g.error_layer, (layerCounts.get(g.error_layer) ?? 0) + g.count);
  const byLayer = [...layerCounts]
    .map(([layer, count]) => ({ layer, count }))
    .sort((a, b) => b.count - a.count || (a.layer === null ? 1 : b.layer === null ? -1 : a.layer.localeCompare(b.layer)));
  const totals = await totalsRead;
  return {
    window: describeRange(args.range),
    filters,
    total_failures: totals?.failures ?? 0,
    failure_rate: totals?.finished ? Math.round((totals.failures / totals.finished) * 1000) / 1000 : null,
    by_layer: byLayer,
    groups: groups.slice(0, args.limit),
    has_more: groups.length > args.limit,
  };
}
