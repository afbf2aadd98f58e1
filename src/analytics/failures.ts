import type { AnalyticsBackend } from './backend.js';
import type { Filters } from './filters.js';
import { describeRange, type TimeRange } from './time-range.js';
import { round } from './usage.js';

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

/** The queries behind failure_report, answered by each engine (AnalyticsBackend). */
export interface FailureQueries {
  /** Failed and terminated executions of the range, and all finished ones. */
  totals(range: TimeRange, filters: Filters): Promise<{ failures: number; finished: number }>;
  /**
   * Every group of failed and terminated executions by error type, layer, tool and failing
   * connector: most first, then the latest, then by those four (null last). The sample is the
   * group's latest execution (ties: the greatest id).
   */
  groups(range: TimeRange, filters: Filters): Promise<FailureGroup[]>;
}

/** Failed and terminated executions grouped by error type, layer, tool and failing connector. */
export async function failureReport(
  backend: AnalyticsBackend,
  args: { range: TimeRange; filters: Filters; limit: number },
): Promise<FailureReport> {
  const { status: _ignored, ...filters } = args.filters;
  // Every group comes back (a few hundred rows at most): the layer totals are summed from them,
  // which saves a second query, and the page is cut here.
  const [totals, groups] = await Promise.all([backend.failures.totals(args.range, filters), backend.failures.groups(args.range, filters)]);
  const layerCounts = new Map<string | null, number>();
  for (const g of groups) layerCounts.set(g.error_layer, (layerCounts.get(g.error_layer) ?? 0) + g.count);
  const byLayer = [...layerCounts]
    .map(([layer, count]) => ({ layer, count }))
    .sort((a, b) => b.count - a.count || (a.layer === null ? 1 : b.layer === null ? -1 : a.layer.localeCompare(b.layer)));
  const rollup = rollUp(groups);
  return {
    window: describeRange(args.range),
    filters,
    total_failures: totals.failures,
    failure_rate: totals.finished ? round(totals.failures / totals.finished) : null,
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
