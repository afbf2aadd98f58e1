import type { Params, Reader } from '../../store/store.js';
import { whereClause } from '../filters.js';
import { scanSpans, type ContributorCounts, type ContributorDimension, type SpikeQueries } from '../spike.js';
import { bucketKey, sqlTime, type TimeRange } from '../time-range.js';
import { flaggedUsageRows } from './usage-rows.js';

/** The five dimensions, from one scan: GROUPING SETS instead of a query per dimension. */
const DIMENSIONS: Array<{ name: ContributorDimension; set: string; mask: number; key: string }> = [
  { name: 'users', set: '(user_id)', mask: 0b0111, key: 'user_id' },
  { name: 'tools', set: '(tool_name)', mask: 0b1011, key: 'tool_name' },
  { name: 'user_tool_pairs', set: '(user_id, tool_name)', mask: 0b0011, key: `user_id || ' × ' || tool_name` },
  { name: 'teams', set: '(user_team)', mask: 0b1101, key: 'user_team' },
  { name: 'clients', set: '(agent_client)', mask: 0b1110, key: 'agent_client' },
];

export function duckdbSpikeQueries(read: Reader): SpikeQueries {
  return {
    async buckets(from, range, filters, bucket) {
      const params: Params = { grid_from: sqlTime(from), grid_to: sqlTime(range.to) };
      const source = flaggedUsageRows('in_window', [{ range: { from, to: range.from }, flag: false }, { range, flag: true }], filters, params, 'w_');
      const rows = await read((db) =>
        db.all<{ start: string; n: number; before_window: number }>(
          `WITH grid AS (
             SELECT unnest(generate_series(date_trunc('${bucket}', CAST($grid_from AS TIMESTAMP)),
                                           CAST($grid_to AS TIMESTAMP) - INTERVAL 1 MICROSECOND, INTERVAL 1 ${bucket})) AS start
           ),
           counts AS (
             SELECT ${bucketKey(bucket, 'hour')} AS k, sum(executions)::INTEGER AS n, sum(executions) FILTER (NOT in_window) AS before_window
             FROM ${source} AS u GROUP BY 1
           )
           SELECT iso(g.start) AS start, coalesce(c.n, 0) AS n, (SELECT coalesce(sum(before_window), 0) FROM counts)::INTEGER AS before_window
           FROM grid g LEFT JOIN counts c ON c.k = ${bucketKey(bucket, 'g.start')}
           ORDER BY g.start`,
          params,
        ),
      );
      return { buckets: rows.map(({ start, n }) => ({ start, n })), before_window: rows[0]?.before_window ?? 0 };
    },

    async contributors(a) {
      // The last bucket can reach past the end of the window ("now"): nothing after it counts.
      const periodEnd = new Date(Math.min(a.periodEnd.getTime(), a.range.to.getTime()));
      const params: Params = { p_start: sqlTime(a.periodStart), p_end: sqlTime(periodEnd) };
      const periodUs = (a.periodEnd.getTime() - a.periodStart.getTime()) * 1000;
      const cycleUs = a.cycleMs * 1000;
      const inPeriod = 'hour >= CAST($p_start AS TIMESTAMP) AND hour < CAST($p_end AS TIMESTAMP)';
      // Same hours (or weekday) as the period on the previous cycles; or, for median_bucket, the whole window.
      const inBaseline =
        a.method === 'median_bucket'
          ? 'in_window'
          : `hour < CAST($p_start AS TIMESTAMP)
             AND ((epoch_us(hour) - epoch_us(CAST($p_start AS TIMESTAMP))) % ${cycleUs} + ${cycleUs}) % ${cycleUs} < ${periodUs}`;
      // The hours that can count are the period and, for a same-hours baseline, the same span on
      // each previous cycle: a few hours out of weeks, read from hourly_usage.
      const spans: Array<{ range: TimeRange; flag: boolean }> =
        a.method === 'median_bucket'
          ? [{ range: { from: a.periodStart, to: periodEnd }, flag: false }, { range: a.range, flag: true }]
          : scanSpans(a.periodStart, periodEnd, a.cycleMs, a.lookback).map(([from, to]) => ({ range: { from, to }, flag: false }));
      const source = flaggedUsageRows('in_window', spans, a.filters, params, 's_');
      // In median_bucket mode the period is read twice (once as the period, once inside the window):
      // each read counts only for the side its flag names.
      const periodSide = a.method === 'median_bucket' ? `NOT in_window AND ${inPeriod}` : inPeriod;
      const samplesWhere = whereClause({ from: a.periodStart, to: periodEnd }, a.filters, params, 'sample_');
      const mask = 'GROUPING(user_id, tool_name, user_team, agent_client)';
      const same = (column: string) => `f.${column} IS NOT DISTINCT FROM s.${column}`;
      // Two steps: the hours are first summed per (user, tool, team, client), a few thousand groups
      // at most, and the five dimensions are rolled up from those. The sample ids come from the
      // period's executions, a few hours of them.
      const rows = await read((db) =>
        db.all<Omit<ContributorCounts, 'dimension'> & { mask: number }>(
          `WITH fine AS (
             SELECT user_id, tool_name, user_team, agent_client,
                    coalesce(sum(executions) FILTER (${periodSide}), 0) AS executions,
                    coalesce(sum(executions) FILTER (${inBaseline}), 0) AS baseline_executions,
                    coalesce(sum(executions) FILTER (${periodSide} AND status = 'succeeded'), 0) AS succeeded,
                    coalesce(sum(executions) FILTER (${periodSide} AND status <> 'running'), 0) AS finished
             FROM ${source} AS u
             GROUP BY ALL
           ),
           samples AS (
             SELECT user_id, tool_name, user_team, agent_client,
                    min_by({'at': started_at, 'id': execution_id}, started_at, 3) AS samples
             FROM executions WHERE ${samplesWhere}
             GROUP BY ALL
           ),
           joined AS (
             SELECT f.*, s.samples FROM fine f
             LEFT JOIN samples s ON ${['user_id', 'tool_name', 'user_team', 'agent_client'].map(same).join(' AND ')}
           )
           SELECT ${mask}::INTEGER AS mask,
                  CASE ${mask} ${DIMENSIONS.map((d) => `WHEN ${d.mask} THEN ${d.key}`).join(' ')} END AS key,
                  sum(executions)::INTEGER AS executions,
                  sum(baseline_executions)::INTEGER AS baseline_executions,
                  sum(succeeded)::INTEGER AS succeeded,
                  sum(finished)::INTEGER AS finished,
                  list_transform(list_sort(flatten(list(samples) FILTER (samples IS NOT NULL)))[1:3], s -> s.id) AS sample_execution_ids
           FROM joined
           GROUP BY GROUPING SETS (${DIMENSIONS.map((d) => d.set).join(', ')})
           HAVING sum(executions) > 0`,
          params,
        ),
      );
      return rows.flatMap(({ mask: m, ...row }) => {
        const dimension = DIMENSIONS.find((d) => d.mask === m);
        return dimension ? [{ dimension: dimension.name, ...row }] : [];
      });
    },
  };
}
