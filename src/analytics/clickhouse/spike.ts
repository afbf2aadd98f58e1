import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import type { ContributorCounts, SpikeQueries } from '../spike.js';
import { bucketStarts } from '../time-range.js';
import { BUCKET_START_SQL, ChQuery } from './sql.js';

/** Each execution counted once per dimension: the user, the tool, the pair, the team, the client. */
const DIMENSION_KEYS = `[
  ('users', CAST(user_id AS Nullable(String))),
  ('tools', CAST(tool_name AS Nullable(String))),
  ('user_tool_pairs', CAST(concat(user_id, ' × ', tool_name) AS Nullable(String))),
  ('teams', CAST(user_team AS Nullable(String))),
  ('clients', CAST(agent_client AS Nullable(String)))]`;

export function clickhouseSpikeQueries(ch: ClickHouseDb): SpikeQueries {
  return {
    async buckets(from, range, filters, bucket) {
      const q = new ChQuery(ch);
      const rows = await q.all<{ k: number; n: number; n_before: number }>(
        `SELECT toUnixTimestamp(${BUCKET_START_SQL[bucket]}) AS k, count() AS n, countIf(started_at < ${q.time(range.from)}) AS n_before
         FROM ${q.executions({ from, to: range.to }, filters)} GROUP BY k`,
      );
      const byStart = new Map(rows.map((r) => [r.k * 1000, r.n]));
      return {
        buckets: bucketStarts({ from, to: range.to }, bucket).map((start) => ({ start: start.toISOString(), n: byStart.get(start.getTime()) ?? 0 })),
        before_window: rows.reduce((sum, r) => sum + r.n_before, 0),
      };
    },

    async contributors(a) {
      const q = new ChQuery(ch);
      // The last bucket can reach past the end of the window ("now"): nothing after it counts.
      const periodEnd = Math.min(a.periodEnd.getTime(), a.range.to.getTime());
      const length = periodEnd - a.periodStart.getTime();
      const between = (from: number, to: number) => `(started_at >= ${q.time(new Date(from))} AND started_at < ${q.time(new Date(to))})`;
      const inPeriod = between(a.periodStart.getTime(), periodEnd);
      const inBaseline =
        a.method === 'median_bucket'
          ? between(a.range.from.getTime(), a.range.to.getTime())
          : Array.from({ length: a.lookback }, (_, i) => {
              const from = a.periodStart.getTime() - (i + 1) * a.cycleMs;
              return between(from, Math.min(from + length, a.periodStart.getTime()));
            }).join(' OR ');
      const rows = await q.all<{ dim: ContributorCounts['dimension']; key: string | null; n_exec: number; n_base: number; n_ok: number; n_fin: number; samples: string[] }>(
        `SELECT d.1 AS dim, d.2 AS key, countIf(in_p) AS n_exec, countIf(in_b) AS n_base,
                countIf(in_p AND status = 'succeeded') AS n_ok, countIf(in_p AND status != 'running') AS n_fin,
                arrayMap(x -> x.2, arraySlice(arraySort(groupArrayIf((started_at, execution_id), in_p)), 1, 3)) AS samples
         FROM (
           SELECT user_id, tool_name, user_team, agent_client, status, started_at, execution_id, ${inPeriod} AS in_p, (${inBaseline}) AS in_b
           FROM ${ch.t('executions')} FINAL
           WHERE (${inPeriod} OR ${inBaseline})${q.filters(a.filters)}
         )
         ARRAY JOIN ${DIMENSION_KEYS} AS d
         GROUP BY dim, key HAVING n_exec > 0`,
      );
      return rows.map((r) => ({
        dimension: r.dim,
        key: r.key,
        executions: r.n_exec,
        baseline_executions: r.n_base,
        succeeded: r.n_ok,
        finished: r.n_fin,
        sample_execution_ids: r.samples,
      }));
    },
  };
}
