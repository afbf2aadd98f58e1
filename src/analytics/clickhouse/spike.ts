import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import { baselineSpans, type ContributorCounts, type SpikeQueries } from '../spike.js';
import { bucketStarts } from '../time-range.js';
import { BUCKET_START_SQL, ChQuery } from './sql.js';
import { usageSource, type UsageSpan } from './usage-rows.js';

/** Each execution counted once per dimension: the user, the tool, the pair, the team, the client. */
const DIMENSION_KEYS = `[
  ('users', CAST(user_id AS Nullable(String))),
  ('tools', CAST(tool_name AS Nullable(String))),
  ('user_tool_pairs', CAST(concat(user_id, ' × ', tool_name) AS Nullable(String))),
  ('teams', CAST(user_team AS Nullable(String))),
  ('clients', CAST(agent_client AS Nullable(String)))]`;

const keyOf = (dim: string, key: string | null) => `${dim}\u0000${key ?? '\u0001'}`;

export function clickhouseSpikeQueries(ch: ClickHouseDb): SpikeQueries {
  return {
    async buckets(from, range, filters, bucket) {
      const q = new ChQuery(ch);
      const source = await usageSource(q, [{ range: { from, to: range.from }, flag: 'before' }, { range, flag: 'window' }], filters, bucket === 'hour' ? 'hour' : 'day');
      const rows = await q.all<{ k: number; n_all: number; n_before: number }>(
        `SELECT toUnixTimestamp(${BUCKET_START_SQL[bucket]}) AS k, sum(n) AS n_all, sumIf(n, flag = 'before') AS n_before
         FROM ${source} GROUP BY k`,
      );
      const byStart = new Map(rows.map((r) => [r.k * 1000, r.n_all]));
      return {
        buckets: bucketStarts({ from, to: range.to }, bucket).map((start) => ({ start: start.toISOString(), n: byStart.get(start.getTime()) ?? 0 })),
        before_window: rows.reduce((sum, r) => sum + r.n_before, 0),
      };
    },

    async contributors(a) {
      // The last bucket can reach past the end of the window ("now"): nothing after it counts.
      const periodEnd = new Date(Math.min(a.periodEnd.getTime(), a.range.to.getTime()));
      const period: UsageSpan = { range: { from: a.periodStart, to: periodEnd }, flag: 'period' };
      // The baseline: the whole window (median_bucket: the period is read twice, once per side),
      // or the same span on each previous cycle.
      const spans: UsageSpan[] =
        a.method === 'median_bucket'
          ? [period, { range: a.range, flag: 'baseline' }]
          : [...baselineSpans(a.periodStart, periodEnd, a.cycleMs, a.lookback).map((range) => ({ range, flag: 'baseline' })), period];
      const q = new ChQuery(ch);
      const source = await usageSource(q, spans, a.filters, 'day');
      const samplesQuery = new ChQuery(ch);
      // Summed per (user, tool, team, client) first, a few thousand groups, then to the five
      // dimensions; the sample ids come from the period's executions, a few hours of them.
      const [rows, samples] = await Promise.all([
        q.all<{ dim: ContributorCounts['dimension']; key: string | null; n_exec: number; n_base: number; n_ok: number; n_fin: number }>(
          `SELECT d.1 AS dim, d.2 AS key, sum(e) AS n_exec, sum(b) AS n_base, sum(ok) AS n_ok, sum(fin) AS n_fin
           FROM (
             SELECT user_id, tool_name, user_team, agent_client, sumIf(n, flag = 'period') AS e, sumIf(n, flag = 'baseline') AS b,
                    sumIf(n, flag = 'period' AND status = 'succeeded') AS ok, sumIf(n, flag = 'period' AND status != 'running') AS fin
             FROM ${source} GROUP BY user_id, tool_name, user_team, agent_client
           )
           ARRAY JOIN ${DIMENSION_KEYS} AS d
           GROUP BY dim, key HAVING n_exec > 0`,
        ),
        samplesQuery.all<{ dim: string; key: string | null; ids: string[] }>(
          // The first three per (user, tool, team, client), a few thousand groups, then per dimension
          // the first three of those: the period's executions are read once, not once per dimension.
          `SELECT d.1 AS dim, d.2 AS key, arrayMap(x -> x.2, arraySlice(arraySort(arrayFlatten(groupArray(firsts))), 1, 3)) AS ids
           FROM (
             SELECT user_id, tool_name, user_team, agent_client, groupArraySorted(3)((started_at, execution_id)) AS firsts
             FROM ${samplesQuery.executions(period.range, a.filters)}
             GROUP BY user_id, tool_name, user_team, agent_client
           )
           ARRAY JOIN ${DIMENSION_KEYS} AS d
           GROUP BY dim, key`,
        ),
      ]);
      const idsOf = new Map(samples.map((s) => [keyOf(s.dim, s.key), s.ids]));
      return rows.map((r) => ({
        dimension: r.dim,
        key: r.key,
        executions: r.n_exec,
        baseline_executions: r.n_base,
        succeeded: r.n_ok,
        finished: r.n_fin,
        sample_execution_ids: idsOf.get(keyOf(r.dim, r.key)) ?? [],
      }));
    },
  };
}

