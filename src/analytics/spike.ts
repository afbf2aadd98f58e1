import { UserInputError } from '../errors.js';
import type { Db, Params } from '../store/store.js';
import { whereClause, type Filters } from './filters.js';
import { bucketKey, describeRange, lengthMs, sqlTime, type TimeRange } from './time-range.js';
import { flaggedUsageRows } from './duckdb/usage-rows.js';
import { round } from './usage.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export type BaselineMethod = 'same_hours_previous_days' | 'same_weekday_previous_weeks' | 'median_bucket';

export interface Contributor {
  key: string | null;
  executions: number;
  baseline: number;
  excess: number;
  share_of_excess: number | null;
  success_rate: number | null;
  sample_execution_ids: string[];
}

export interface SpikeReport {
  window: { from: string; to: string };
  filters: Filters;
  bucket: 'hour' | 'day';
  baseline_method: BaselineMethod;
  baseline_explained: string;
  spike: {
    start: string;
    end: string;
    executions: number;
    baseline: number;
    excess: number;
    chosen_by: 'largest_excess' | 'at';
  } | null;
  contributors: {
    users: Contributor[];
    tools: Contributor[];
    user_tool_pairs: Contributor[];
    teams: Contributor[];
    clients: Contributor[];
  };
  note?: string;
}

interface BucketRow {
  start: string;
  n: number;
  baseline: number;
}

/**
 * Finds the spike in a window (or takes the bucket holding `at`) and ranks who drove it by excess
 * executions over their own baseline. Baseline: the same hours on the previous 7 days (hour
 * buckets) or the same weekday on the previous 4 weeks (day buckets), when that history exists;
 * otherwise the window's median bucket.
 */
export async function whoDroveSpike(
  db: Db,
  args: { range: TimeRange; filters: Filters; at?: Date; limit: number },
): Promise<SpikeReport> {
  const { range, filters } = args;
  if (args.at && (args.at < range.from || args.at >= range.to)) {
    throw new UserInputError(`at (${args.at.toISOString()}) must fall inside the window ${range.from.toISOString()} .. ${range.to.toISOString()}; widen the window or move at.`);
  }
  const bucket = lengthMs(range) <= 31 * DAY ? 'hour' : 'day';
  const cycleMs = bucket === 'hour' ? DAY : 7 * DAY;
  const lookback = bucket === 'hour' ? 7 : 4;
  const lookbackFrom = new Date(range.from.getTime() - lookback * cycleMs);

  const params: Params = {};
  const windowFrom = range.from;
  const lookbackAndWindow = flaggedUsageRows(
    'in_window',
    [{ range: { from: lookbackFrom, to: windowFrom }, flag: false }, { range, flag: true }],
    filters,
    params,
    'w_',
  );
  params.grid_from = sqlTime(lookbackFrom);
  params.grid_to = sqlTime(range.to);
  params.window_from = sqlTime(windowFrom);
  // One query answers both whether there is history before the window (which decides the
  // baseline method) and the buckets with either baseline; the method is picked from its answer.
  const cycleKey = bucket === 'hour' ? 'hour(start)' : 'dayofweek(start)';
  const scoredBuckets = await db.all<{ start: string; n: number; history_baseline: number; median_baseline: number; history_rows: number }>(
    `WITH grid AS (
       SELECT unnest(generate_series(date_trunc('${bucket}', CAST($grid_from AS TIMESTAMP)),
                                     CAST($grid_to AS TIMESTAMP) - INTERVAL 1 MICROSECOND, INTERVAL 1 ${bucket})) AS start
     ),
     counts AS (
       SELECT ${bucketKey(bucket, 'hour')} AS k, sum(executions)::INTEGER AS n,
              sum(executions) FILTER (NOT in_window) AS before_window
       FROM ${lookbackAndWindow} AS u
       GROUP BY 1
     ),
     filled AS (
       SELECT g.start, coalesce(c.n, 0) AS n FROM grid g LEFT JOIN counts c ON c.k = ${bucketKey(bucket, 'g.start')}
     ),
     scored AS (
       SELECT start, n,
              quantile_cont(n, 0.5) OVER (PARTITION BY ${cycleKey} ORDER BY start
                                          ROWS BETWEEN ${lookback} PRECEDING AND 1 PRECEDING) AS history_median
       FROM filled
     )
     SELECT iso(start) AS start, n,
            coalesce(history_median, 0)::DOUBLE AS history_baseline,
            (median(n) FILTER (start >= CAST($window_from AS TIMESTAMP)) OVER ())::DOUBLE AS median_baseline,
            (SELECT coalesce(sum(before_window), 0) FROM counts)::INTEGER AS history_rows
     FROM scored WHERE start >= date_trunc('${bucket}', CAST($window_from AS TIMESTAMP))
     ORDER BY start`,
    params,
  );
  const method: BaselineMethod = (scoredBuckets[0]?.history_rows ?? 0) > 0
    ? bucket === 'hour' ? 'same_hours_previous_days' : 'same_weekday_previous_weeks'
    : 'median_bucket';
  const buckets: BucketRow[] = scoredBuckets.map((b) => ({
    start: b.start,
    n: b.n,
    baseline: method === 'median_bucket' ? b.median_baseline : b.history_baseline,
  }));

  const period = args.at ? bucketHolding(buckets, args.at) : largestExcessRun(buckets);
  const explained =
    method === 'median_bucket'
      ? `Baseline is the median ${bucket} of the window (there is no history before it to compare the same hours with).`
      : bucket === 'hour'
        ? 'Baseline is the median of the same hour on the previous 7 days; contributors are compared with their average over those same hours.'
        : 'Baseline is the median of the same weekday on the previous 4 weeks; contributors are compared with their average over those days.';
  const empty = { users: [], tools: [], user_tool_pairs: [], teams: [], clients: [] };
  const base = { window: describeRange(range), filters, bucket, baseline_method: method, baseline_explained: explained } as const;
  if (!period) {
    return { ...base, spike: null, contributors: empty, note: 'No bucket in the window rose above its baseline: there is no spike to explain.' };
  }

  const bucketMs = bucket === 'hour' ? HOUR : DAY;
  const periodStart = new Date(period.first.start);
  const periodEnd = new Date(Date.parse(period.last.start) + bucketMs);
  const ranked = await rankContributors(db, {
    range, filters, periodStart, periodEnd, method, cycleMs, lookback,
    windowBuckets: buckets.length, periodBuckets: period.rows.length, limit: args.limit, totalExcess: period.excess,
  });
  return {
    ...base,
    spike: {
      start: periodStart.toISOString(),
      end: periodEnd.toISOString(),
      executions: period.executions,
      baseline: round(period.baseline, 1),
      excess: round(period.excess, 1),
      chosen_by: args.at ? 'at' : 'largest_excess',
    },
    contributors: ranked,
  };
}

interface Period {
  first: BucketRow;
  last: BucketRow;
  rows: BucketRow[];
  executions: number;
  baseline: number;
  excess: number;
}

function toPeriod(rows: BucketRow[]): Period {
  const executions = rows.reduce((s, r) => s + r.n, 0);
  const baseline = rows.reduce((s, r) => s + r.baseline, 0);
  return { first: rows[0]!, last: rows[rows.length - 1]!, rows, executions, baseline, excess: executions - baseline };
}

/** The bucket with the largest excess, widened over neighbours that carry at least half as much. */
function largestExcessRun(rows: BucketRow[]): Period | undefined {
  let peak = -1;
  rows.forEach((r, i) => {
    if (r.n - r.baseline > 0 && (peak === -1 || r.n - r.baseline > rows[peak]!.n - rows[peak]!.baseline)) peak = i;
  });
  if (peak === -1) return undefined;
  const half = (rows[peak]!.n - rows[peak]!.baseline) / 2;
  let lo = peak;
  let hi = peak;
  while (lo > 0 && rows[lo - 1]!.n - rows[lo - 1]!.baseline >= half) lo--;
  while (hi < rows.length - 1 && rows[hi + 1]!.n - rows[hi + 1]!.baseline >= half) hi++;
  return toPeriod(rows.slice(lo, hi + 1));
}

function bucketHolding(rows: BucketRow[], at: Date): Period | undefined {
  const index = rows.findLastIndex((r) => Date.parse(r.start) <= at.getTime());
  return index === -1 ? undefined : toPeriod([rows[index]!]);
}

/** The five rankings, from one scan: GROUPING SETS instead of a query per dimension. */
const DIMENSIONS = [
  { name: 'users', set: '(user_id)', mask: 0b0111, key: 'user_id' },
  { name: 'tools', set: '(tool_name)', mask: 0b1011, key: 'tool_name' },
  { name: 'user_tool_pairs', set: '(user_id, tool_name)', mask: 0b0011, key: `user_id || ' × ' || tool_name` },
  { name: 'teams', set: '(user_team)', mask: 0b1101, key: 'user_team' },
  { name: 'clients', set: '(agent_client)', mask: 0b1110, key: 'agent_client' },
] as const;

async function rankContributors(
  db: Db,
  a: {
    range: TimeRange; filters: Filters; periodStart: Date; periodEnd: Date; method: BaselineMethod;
    cycleMs: number; lookback: number; windowBuckets: number; periodBuckets: number; limit: number; totalExcess: number;
  },
): Promise<SpikeReport['contributors']> {
  // The last bucket can reach past the end of the window ("now"): nothing after it counts.
  const periodEnd = new Date(Math.min(a.periodEnd.getTime(), a.range.to.getTime()));
  const params: Params = {
    p_start: sqlTime(a.periodStart),
    p_end: sqlTime(periodEnd),
    window_from: sqlTime(a.range.from),
    limit: a.limit,
  };
  const periodUs = (a.periodEnd.getTime() - a.periodStart.getTime()) * 1000;
  const cycleUs = a.cycleMs * 1000;
  const inPeriod = 'hour >= CAST($p_start AS TIMESTAMP) AND hour < CAST($p_end AS TIMESTAMP)';
  // Same hours (or weekday) as the period on the previous cycles; or, for median_bucket, the whole window.
  const inBaseline =
    a.method === 'median_bucket'
      ? 'in_window'
      : `hour < CAST($p_start AS TIMESTAMP)
         AND ((epoch_us(hour) - epoch_us(CAST($p_start AS TIMESTAMP))) % ${cycleUs} + ${cycleUs}) % ${cycleUs} < ${periodUs}`;
  const baselineScale = a.method === 'median_bucket' ? a.periodBuckets / a.windowBuckets : 1 / a.lookback;
  // The hours that can count are the period and, for a same-hours baseline, the same span on
  // each previous cycle: a few hours out of weeks, read from hourly_usage.
  const spans: Array<{ range: TimeRange; flag: boolean }> =
    a.method === 'median_bucket'
      ? [
          { range: { from: a.periodStart, to: periodEnd }, flag: false },
          { range: a.range, flag: true },
        ]
      : scanSpans(a.periodStart, periodEnd, a.cycleMs, a.lookback).map(([from, to]) => ({ range: { from, to }, flag: false }));
  const source = flaggedUsageRows('in_window', spans, a.filters, params, 's_');
  // In median_bucket mode the period is read twice (once as the period, once inside the window):
  // each read counts only for the side its flag names.
  const periodSide = a.method === 'median_bucket' ? `NOT in_window AND ${inPeriod}` : inPeriod;
  const samplesWhere = whereClause({ from: a.periodStart, to: periodEnd }, a.filters, params, 'sample_');
  const mask = 'GROUPING(user_id, tool_name, user_team, agent_client)';
  const same = (column: string) => `f.${column} IS NOT DISTINCT FROM s.${column}`;
  // Two steps: the hours are first summed per (user, tool, team, client), a few thousand groups
  // at most, and the five rankings are rolled up from those. The sample ids come from the
  // period's executions, a few hours of them.
  const rows = await db.all<Contributor & { mask: number }>(
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
     SELECT mask, key, executions, baseline, excess, success_rate, sample_execution_ids FROM (
       SELECT ${mask}::INTEGER AS mask,
              CASE ${mask} ${DIMENSIONS.map((d) => `WHEN ${d.mask} THEN ${d.key}`).join(' ')} END AS key,
              sum(executions)::INTEGER AS executions,
              round(sum(baseline_executions) * ${baselineScale}, 1)::DOUBLE AS baseline,
              round(sum(executions) - sum(baseline_executions) * ${baselineScale}, 1)::DOUBLE AS excess,
              round(sum(succeeded) / nullif(sum(finished), 0), 3)::DOUBLE AS success_rate,
              list_transform(list_sort(flatten(list(samples) FILTER (samples IS NOT NULL)))[1:3], s -> s.id) AS sample_execution_ids
       FROM joined
       GROUP BY GROUPING SETS (${DIMENSIONS.map((d) => d.set).join(', ')}))
     WHERE executions > 0
     QUALIFY row_number() OVER (PARTITION BY mask ORDER BY excess DESC, executions DESC, key NULLS LAST) <= $limit
     ORDER BY mask, excess DESC, executions DESC, key NULLS LAST`,
    params,
  );
  const out = Object.fromEntries(DIMENSIONS.map((d) => [d.name, [] as Contributor[]])) as SpikeReport['contributors'];
  for (const { mask: m, ...row } of rows) {
    const dimension = DIMENSIONS.find((d) => d.mask === m);
    if (dimension) out[dimension.name].push({ ...row, share_of_excess: a.totalExcess > 0 ? round(row.excess / a.totalExcess) : null });
  }
  return out;
}

/**
 * Disjoint time spans covering the period and the same span on each of the `lookback` previous
 * cycles (merged where they touch or overlap, as they do when the period is longer than a cycle).
 */
export function scanSpans(periodStart: Date, periodEnd: Date, cycleMs: number, lookback: number): Array<[Date, Date]> {
  const length = periodEnd.getTime() - periodStart.getTime();
  const spans: Array<[number, number]> = [];
  for (let k = lookback; k >= 1; k--) {
    const from = periodStart.getTime() - k * cycleMs;
    spans.push([from, Math.min(from + length, periodStart.getTime())]);
  }
  spans.push([periodStart.getTime(), periodEnd.getTime()]);
  const merged: Array<[number, number]> = [];
  for (const span of spans) {
    const last = merged[merged.length - 1];
    if (last && span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
    else merged.push([...span]);
  }
  return merged.map(([from, to]) => [new Date(from), new Date(to)]);
}
