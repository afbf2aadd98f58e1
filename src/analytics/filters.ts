import type { Params } from '../store/store.js';
import { sqlTime, type TimeRange } from './time-range.js';

/** The filters every fleet question accepts; each is an exact match on one column. */
export interface Filters {
  tool?: string;
  user?: string;
  team?: string;
  server?: string;
  client?: string;
  environment?: string;
  via_mcp?: boolean;
  status?: string;
}

export const FILTER_COLUMNS: Record<keyof Filters, string> = {
  tool: 'tool_name',
  user: 'user_id',
  team: 'user_team',
  server: 'tool_server',
  client: 'agent_client',
  environment: 'environment',
  via_mcp: 'via_mcp',
  status: 'status',
};

/**
 * The WHERE clause for a range and filters, with named parameters (never values spliced into
 * SQL). `prefix` keeps parameter names apart when one query uses two ranges.
 */
export function whereClause(range: TimeRange, filters: Filters, params: Params, prefix = ''): string {
  params[`${prefix}from`] = sqlTime(range.from);
  params[`${prefix}to`] = sqlTime(range.to);
  return [
    `started_at >= CAST($${prefix}from AS TIMESTAMP)`,
    `started_at < CAST($${prefix}to AS TIMESTAMP)`,
    ...filterConditions(filters, params),
  ].join(' AND ');
}

/** One condition per filter given, on columns that executions and hourly_usage share. */
export function filterConditions(filters: Filters, params: Params): string[] {
  const parts: string[] = [];
  for (const [key, column] of Object.entries(FILTER_COLUMNS) as Array<[keyof Filters, string]>) {
    const value = filters[key];
    if (value === undefined) continue;
    const name = `f_${key}`;
    params[name] = value;
    parts.push(`${column} = $${name}`);
  }
  return parts;
}

export function activeFilters(filters: Filters): Filters {
  return Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined)) as Filters;
}
