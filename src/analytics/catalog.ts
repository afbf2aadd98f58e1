import type { AnalyticsBackend } from './backend.js';
import { FILTER_COLUMNS, type Filters } from './filters.js';
import { describeRange, type TimeRange } from './time-range.js';

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

/** The queries behind fleet_catalog and the check of filter values, answered by each engine. */
export interface CatalogQueries {
  /** The values of a column in the range, most executions first (ties: by value), at most `limit`; and how many there are. */
  dimension(range: TimeRange, column: string, limit: number): Promise<{ values: DimensionValue[]; distinct: number }>;
  /** Whether any execution ever had this value in the column. */
  valueExists(column: string, value: string): Promise<boolean>;
  /** The three stored values of the column closest to `value` (Jaro-Winkler, case-insensitive; ties by value). */
  closestValues(column: string, value: string): Promise<string[]>;
  /** The tool lists `wrap` recorded (tool_catalog records), one row per server, latest change first. */
  toolLists(limit: number): Promise<ServerToolList[]>;
}

/** Which tools, users, teams, servers, clients and environments exist, most active first. */
export async function fleetCatalog(backend: AnalyticsBackend, args: { range: TimeRange; limit: number; only?: Dimension }): Promise<FleetCatalog> {
  // Asked at once: ClickHouse answers them side by side (and shares the rollup's state between them).
  const asked = args.only ? [args.only] : DISCOVERABLE;
  const answers = await Promise.all(asked.map((dimension) => backend.catalog.dimension(args.range, FILTER_COLUMNS[dimension], args.limit)));
  const dimensions = {} as FleetCatalog['dimensions'];
  asked.forEach((dimension, i) => {
    const { values, distinct } = answers[i]!;
    dimensions[dimension] = { distinct, values, has_more: distinct > values.length };
  });
  return { window: describeRange(args.range), dimensions };
}

/**
 * For filter values that match nothing at all (not just nothing in the window): the closest
 * existing values, so an agent that guessed a name can correct it.
 */
export async function unknownFilterValues(
  backend: AnalyticsBackend,
  filters: Filters,
): Promise<Array<{ filter: string; value: string; closest: string[] }>> {
  const problems: Array<{ filter: string; value: string; closest: string[] }> = [];
  for (const dimension of DISCOVERABLE) {
    const value = filters[dimension];
    if (value === undefined) continue;
    const column = FILTER_COLUMNS[dimension];
    if (await backend.catalog.valueExists(column, value)) continue;
    problems.push({ filter: dimension, value, closest: await backend.catalog.closestValues(column, value) });
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

