import type { Params, Reader } from '../store/store.js';
import { whereClause, type Filters } from './filters.js';
import { describeRange, type TimeRange } from './time-range.js';
import { usageRows } from './duckdb/usage-rows.js';

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

/** One error type in one tool, with its total first and then its parts by layer and connector. */
export interface FailureRollup {
  error_type: string | null;
  tool: string;
  count: number;
  terminated: number;
  first_seen: string;
  last_seen: string;
  sample_execution_id: string;
  parts: Array<{ error_layer: string | null; connector: string | null; count: number }>;
}

export interface FailureReport {
  window: { from: string; to: string };
  filters: Filters;
  total_failures: number;
  /** Of all finished executions in the window, the share that failed or were terminated. */
  failure_rate: number | null;
  by_layer: Array<{ layer: string | null; count: number }>;
  /** The first level: error type x tool, largest first (a burst of one error in one tool is one row). */
  rollup: FailureRollup[];
  groups: FailureGroup[];
  has_more: boolean;
}

/**
 * Failed and terminated executions grouped by error type, layer, tool and failing connector.
 * The groups come from the narrow `failures` table (a few percent of the rows); the failure rate
 * needs the count of every status, which hourly_usage gives, read in parallel on another connection.
 */
export async function failureReport(
  read: Reader,
  args: { range: TimeRange; filters: Filters; limit: number },
): Promise<FailureReport> {
  const params: Params = {};
  const { status: _ignored, ...filters } = args.filters;
  const where = whereClause(args.range, filters, params);
  const totalsRead = read((db) => {
    const totalParams: Params = {};
    return db.one<{ failures: number; finished: number }>(
      `SELECT coalesce(sum(executions) FILTER (status IN ('failed', 'terminated')), 0)::INTEGER AS failures,
              coalesce(sum(executions) FILTER (status <> 'running'), 0)::INTEGER AS finished
       FROM ${usageRows(args.range, filters, totalParams, 't_')} AS u`,
      totalParams,
    );
  });
  totalsRead.catch(() => undefined); // awaited below; never left rejecting unobserved
  // Every group comes back (a few hundred rows at most): the layer totals are summed from them,
  // which saves a second query, and the page is cut here.
  const groups = await read((db) =>
    db.all<FailureGroup>(
      // Per user first, then per group: counting the users as rows is cheaper than a DISTINCT.
      `WITH per_user AS (
         SELECT error_type, error_layer, tool_name, failing_connector, user_id,
                count(*) AS n, count(*) FILTER (status = 'terminated') AS terminated,
                min(started_at) AS first, max(started_at) AS last, arg_max(execution_id, started_at) AS sample
         FROM failures WHERE ${where}
         GROUP BY ALL
       )
       SELECT error_type, error_layer, tool_name AS tool, failing_connector AS connector,
              sum(n)::INTEGER AS count, sum(terminated)::INTEGER AS terminated, count(*)::INTEGER AS affected_users,
              iso(min(first)) AS first_seen, iso(max(last)) AS last_seen, arg_max(sample, last) AS sample_execution_id
       FROM per_user
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
  const rollup = rollUp(groups);
  return {
    window: describeRange(args.range),
    filters,
    total_failures: totals?.failures ?? 0,
    failure_rate: totals?.finished ? Math.round((totals.failures / totals.finished) * 1000) / 1000 : null,
    by_layer: byLayer,
    rollup: rollup.slice(0, args.limit),
    groups: groups.slice(0, args.limit),
    has_more: groups.length > args.limit || rollup.length > args.limit,
  };
}

/** The groups summed to error type x tool; each keeps its parts, largest first. */
function rollUp(groups: FailureGroup[]): FailureRollup[] {
  const byKey = new Map<string, FailureRollup>();
  for (const g of groups) {
    const key = JSON.stringify([g.error_type, g.tool]);
    let r = byKey.get(key);
    if (!r) {
      r = { error_type: g.error_type, tool: g.tool, count: 0, terminated: 0, first_seen: g.first_seen, last_seen: g.last_seen, sample_execution_id: g.sample_execution_id, parts: [] };
      byKey.set(key, r);
    }
    r.count += g.count;
    r.terminated += g.terminated;
    if (g.first_seen < r.first_seen) r.first_seen = g.first_seen;
    if (g.last_seen > r.last_seen) {
      r.last_seen = g.last_seen;
      r.sample_execution_id = g.sample_execution_id;
    }
    r.parts.push({ error_layer: g.error_layer, connector: g.connector, count: g.count });
  }
  const rows = [...byKey.values()];
  for (const r of rows) r.parts.sort((a, b) => b.count - a.count);
  return rows.sort((a, b) => b.count - a.count || (a.last_seen < b.last_seen ? 1 : -1));
}
