import type { Db, Params } from '../store/store.js';
import { describeRange, previousRange, sqlTime, type TimeRange } from './time-range.js';
import { flaggedUsageRows } from './duckdb/usage-rows.js';

export interface UnusedTool {
  name: string;
  server: string | null;
  kind: string;
  /** Last execution ever seen, or null: never used. */
  last_used: string | null;
  days_since_last_use: number | null;
  runs_in_previous_window: number;
  listed_in_catalog: boolean;
}

export interface UnusedTools {
  window: { from: string; to: string };
  previous_window: { from: string; to: string };
  catalog_size: number;
  unused_count: number;
  tools: UnusedTool[];
  has_more: boolean;
}

/**
 * Tools in the catalog (every tool ever seen, plus those listed in a catalog file) with no
 * execution in the window, runs counted from hourly_usage. Tools first seen after the window are not counted as unused in it.
 */
export async function unusedTools(
  db: Db,
  args: { range: TimeRange; server?: string; kind?: string; limit: number },
): Promise<UnusedTools> {
  const previous = previousRange(args.range);
  const params: Params = { to: sqlTime(args.range.to), limit: args.limit + 1 };
  const conditions = ['(t.first_seen IS NULL OR t.first_seen < CAST($to AS TIMESTAMP))'];
  if (args.server !== undefined) {
    params.server = args.server;
    conditions.push('t.server = $server');
  }
  if (args.kind !== undefined) {
    params.kind = args.kind;
    conditions.push('t.kind = $kind');
  }
  const both = flaggedUsageRows('is_current', [{ range: args.range, flag: true }, { range: previous, flag: false }], {}, params, 'w_');
  const rows = await db.all<UnusedTool & { unused_count: number; catalog_size: number }>(
    `WITH runs AS (
       SELECT tool_name, coalesce(tool_server, '') AS server,
              coalesce(sum(executions) FILTER (is_current), 0)::INTEGER AS in_window,
              coalesce(sum(executions) FILTER (NOT is_current), 0)::INTEGER AS in_previous
       FROM ${both} AS u
       GROUP BY 1, 2
     ),
     catalog AS (
       SELECT t.*, coalesce(r.in_window, 0) AS in_window, coalesce(r.in_previous, 0) AS in_previous
       FROM tools t LEFT JOIN runs r ON r.tool_name = t.name AND r.server = t.server
       WHERE ${conditions.join(' AND ')}
     )
     SELECT name, nullif(server, '') AS server, kind,
            iso(last_seen) AS last_used,
            CASE WHEN last_seen IS NOT NULL
                 THEN floor(date_diff('hour', last_seen, CAST($to AS TIMESTAMP)) / 24)::INTEGER END AS days_since_last_use,
            in_previous AS runs_in_previous_window,
            from_catalog AS listed_in_catalog,
            (count(*) OVER ())::INTEGER AS unused_count,
            (SELECT count(*) FROM catalog)::INTEGER AS catalog_size
     FROM catalog WHERE in_window = 0
     ORDER BY last_seen NULLS FIRST, name
     LIMIT $limit`,
    params,
  );
  const catalogSize =
    rows[0]?.catalog_size ??
    (await db.one<{ n: number }>('SELECT count(*)::INTEGER AS n FROM tools'))?.n ??
    0;
  return {
    window: describeRange(args.range),
    previous_window: describeRange(previous),
    catalog_size: catalogSize,
    unused_count: rows[0]?.unused_count ?? 0,
    tools: rows.slice(0, args.limit).map(({ unused_count: _u, catalog_size: _c, ...tool }) => tool),
    has_more: rows.length > args.limit,
  };
}
