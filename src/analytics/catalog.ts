import type { Db, Params } from '../store/store.js';
import { FILTER_COLUMNS, type Filters } from './filters.js';
import { describeRange, sqlTime, type TimeRange } from './time-range.js';

export const DISCOVERABLE = ['tool', 'user', 'team', 'server', 'client', 'environment'] as const;
export type Dimension = (typeof DISCOVERABLE)[number];

export interface DimensionValue {
  value: string;
  executions: number;
  last_seen: string;
}

export interface FleetCatalog {
  window: { from: string; to: string };
  dimensions: Record<Dimension, { distinct: number; values: DimensionValue[]; has_more: boolean }>;
}

/** Which tools, users, teams, servers, clients and environments exist, most active first. */
export async function fleetCatalog(db: Db, args: { range: TimeRange; limit: number; only?: Dimension }): Promise<FleetCatalog> {
  const params: Params = { from: sqlTime(args.range.from), to: sqlTime(args.range.to), limit: args.limit };
  const dimensions = {} as FleetCatalog['dimensions'];
  for (const dimension of args.only ? [args.only] : DISCOVERABLE) {
    const column = FILTER_COLUMNS[dimension];
    const rows = await db.all<DimensionValue & { distinct: number }>(
      `SELECT ${column} AS value, count(*)::INTEGER AS executions, iso(max(started_at)) AS last_seen,
              (count(*) OVER ())::INTEGER AS distinct
       FROM executions
       WHERE started_at >= CAST($from AS TIMESTAMP) AND started_at < CAST($to AS TIMESTAMP) AND ${column} IS NOT NULL
       GROUP BY 1 ORDER BY executions DESC, value LIMIT $limit`,
      params,
    );
    const distinct = rows[0]?.distinct ?? 0;
    dimensions[dimension] = {
      distinct,
      values: rows.map(({ distinct: _d, ...v }) => v),
      has_more: distinct > rows.length,
    };
  }
  return { window: describeRange(args.range), dimensions };
}

/**
 * For filter values that match nothing at all (not just nothing in the window): the closest
 * existing values, so an agent that guessed a name can correct it.
 */
export async function unknownFilterValues(
  db: Db,
  filters: Filters,
): Promise<Array<{ filter: string; value: string; closest: string[] }>> {
  const problems: Array<{ filter: string; value: string; closest: string[] }> = [];
  for (const dimension of DISCOVERABLE) {
    const value = filters[dimension];
    if (value === undefined) continue;
    const column = FILTER_COLUMNS[dimension];
    const exists = await db.one<{ n: number }>(
      `SELECT count(*)::INTEGER AS n FROM (SELECT 1 FROM executions WHERE ${column} = $value LIMIT 1)`,
      { value },
    );
    if ((exists?.n ?? 0) > 0) continue;
    const closest = await db.all<{ value: string }>(
      `SELECT value FROM (SELECT DISTINCT ${column} AS value FROM executions WHERE ${column} IS NOT NULL)
       ORDER BY jaro_winkler_similarity(lower(value), lower($value)) DESC, value LIMIT 3`,
      { value },
    );
    problems.push({ filter: dimension, value, closest: closest.map((c) => c.value) });
  }
  return problems;
}

/** A server's tool list as the recording proxy last saw it, and when it last changed. */
export interface ServerToolList {
  server: string;
  tools: number;
  /** When the current list was first seen: the last change (or the first listing). */
  listed_since: string;
  last_seen: string;
  /** How many different lists the server has answered. */
  versions: number;
  /** Tools whose description or input schema changed since first seen, with when they last changed. */
  changed_tools: Array<{ name: string; changed_at: string }>;
}

/** The tool lists `wrap` recorded (tool_catalog records), one row per server, latest change first. */
export async function serverToolLists(db: Db, limit = 50): Promise<ServerToolList[]> {
  const rows = await db.all<Omit<ServerToolList, 'changed_tools'> & { changed_tools: string }>(
    `WITH lists AS (
       SELECT server, count(*)::INTEGER AS versions, arg_max(tool_count, first_seen) AS tools,
              iso(max(first_seen)) AS listed_since, iso(max(last_seen)) AS last_seen
       FROM server_tool_lists GROUP BY server
     ),
     changes AS (
       SELECT server, to_json(list({'name': name, 'changed_at': iso(changed_at)} ORDER BY changed_at DESC, name)) AS changed_tools
       FROM (SELECT server, name, max(first_seen) AS changed_at FROM tool_definitions GROUP BY ALL HAVING count(*) > 1)
       GROUP BY server
     )
     SELECT l.*, coalesce(c.changed_tools, '[]') AS changed_tools
     FROM lists l LEFT JOIN changes c USING (server)
     ORDER BY l.listed_since DESC, l.server LIMIT ${Math.max(1, Math.floor(limit))}`,
  );
  return rows.map((r) => ({ ...r, changed_tools: JSON.parse(String(r.changed_tools)) }));
}
