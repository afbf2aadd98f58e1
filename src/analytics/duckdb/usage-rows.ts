import { ROLLUP_DIMENSIONS } from '../../store/rollup.js';
import type { Params } from '../../store/store.js';
import { filterConditions, type Filters } from '../filters.js';
import { sqlTime, type TimeRange } from '../time-range.js';

const HOUR_MS = 3_600_000;
const DIMS = ROLLUP_DIMENSIONS.join(', ');

/**
 * The executions of a range, counted per hour and dimensions (the columns of hourly_usage), as
 * a SQL source: the whole hours come from the rollup, the partial hours at either end are
 * counted from executions the same way, so a window that does not start on the hour is exact.
 * Several rows can share an hour and dimensions: sum the measures (executions, tasks, cost_usd,
 * without_cost, tasks_defaulted), never count rows. `prefix` keeps the parameters of two ranges apart.
 */
export function usageRows(range: TimeRange, filters: Filters, params: Params, prefix: string): string {
  const from = range.from.getTime();
  const to = range.to.getTime();
  let wholeFrom = Math.ceil(from / HOUR_MS) * HOUR_MS;
  let wholeTo = Math.floor(to / HOUR_MS) * HOUR_MS;
  // Under two hours with no whole hour inside: all of it from executions.
  if (wholeFrom >= wholeTo) wholeFrom = wholeTo = to;
  const conditions = filterConditions(filters, params);
  const and = conditions.map((c) => ` AND ${c}`).join('');
  const time = (name: string, ms: number) => {
    params[`${prefix}${name}`] = sqlTime(new Date(ms));
    return `CAST($${prefix}${name} AS TIMESTAMP)`;
  };
  const parts: string[] = [];
  if (wholeFrom < wholeTo) {
    parts.push(`SELECT hour, ${DIMS}, executions, tasks, cost_usd, without_cost, coalesce(tasks_defaulted, 0) AS tasks_defaulted FROM hourly_usage
                WHERE hour >= ${time('whole_from', wholeFrom)} AND hour < ${time('whole_to', wholeTo)}${and}`);
  }
  const counted = (lo: string, hi: string, loMs: number, hiMs: number) =>
    `SELECT date_trunc('hour', started_at) AS hour, ${DIMS}, count(*)::BIGINT AS executions, sum(tasks)::DOUBLE AS tasks,
            sum(cost_usd)::DOUBLE AS cost_usd, count(*) FILTER (cost_usd IS NULL)::BIGINT AS without_cost,
            count(*) FILTER (tasks_given = false)::BIGINT AS tasks_defaulted
     FROM executions WHERE started_at >= ${time(lo, loMs)} AND started_at < ${time(hi, hiMs)}${and}
     GROUP BY ALL`;
  if (from < wholeFrom) parts.push(counted('from', 'head_to', from, wholeFrom));
  if (wholeTo < to) parts.push(counted('tail_from', 'to', wholeTo, to));
  return `(${parts.join(' UNION ALL ')})`;
}

/**
 * usageRows of several ranges read as one source, each row carrying its range's flag in the
 * boolean column `flagColumn` (is_current, in_window): one read answers for both windows of a
 * comparison, told apart by FILTER (flag) / FILTER (NOT flag).
 */
export function flaggedUsageRows(
  flagColumn: string,
  ranges: Array<{ range: TimeRange; flag: boolean }>,
  filters: Filters,
  params: Params,
  prefix: string,
): string {
  const parts = ranges.map(
    ({ range, flag }, i) => `SELECT ${flag} AS ${flagColumn}, * FROM ${usageRows(range, filters, params, `${prefix}${i}_`)} AS r${i}`,
  );
  return `(${parts.join(' UNION ALL ')})`;
}
