import { UserInputError } from '../errors.js';
import type { AnalyticsBackend } from './backend.js';
import { byteOrder } from './order.js';
import type { Filters } from './filters.js';
import { bucketStart, describeRange, lengthMs, type TimeRange } from './time-range.js';
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

export type SpikeBucket = 'hour' | 'day';

export type ContributorDimension = keyof SpikeReport['contributors'];

/** What a contributor's rank is computed from: its executions in the period and in the baseline. */
export interface ContributorCounts {
  dimension: ContributorDimension;
  key: string | null;
  executions: number;
  baseline_executions: number;
  succeeded: number;
  finished: number;
  /** Its first executions of the period by start (ties: by id), at most three. */
  sample_execution_ids: string[];
}

/**
 * Where a contributor's executions count. Period: started_at in [periodStart, periodEnd) with the
 * end clipped to the window's. Baseline: for 'median_bucket', the whole window; otherwise the
 * same span (the period's, clipped) on each of the `lookback` cycles before the period.
 */
export interface ContributorScope {
  range: TimeRange;
  filters: Filters;
  periodStart: Date;
  /** The period's last bucket's end, not clipped to the window. */
  periodEnd: Date;
  method: BaselineMethod;
  cycleMs: number;
  lookback: number;
}

/** The queries behind who_drove_spike, answered by each engine (AnalyticsBackend). */
export interface SpikeQueries {
  /**
   * Executions per bucket, every bucket from the one holding `from` to the one before `range.to`
   * (empty ones too, oldest first; counted from `from`, not from the bucket's start), and how
   * many of them started before range.from.
   */
  buckets(from: Date, range: TimeRange, filters: Filters, bucket: SpikeBucket): Promise<{ buckets: Array<{ start: string; n: number }>; before_window: number }>;
  /** Every user, tool, user × tool pair, team and client with executions in the period, counted over ContributorScope. */
  contributors(scope: ContributorScope): Promise<ContributorCounts[]>;
}

/** The median of a list, the mean of the two middle values when it is even (as DuckDB's median). */
function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = (sorted.length - 1) / 2;
  const lo = sorted[Math.floor(mid)]!;
  const hi = sorted[Math.ceil(mid)]!;
  return lo + (hi - lo) * (mid - Math.floor(mid));
}

/**
 * Finds the spike in a window (or takes the bucket holding `at`) and ranks who drove it by excess
 * executions over their own baseline. Baseline: the same hours on the previous 7 days (hour
 * buckets) or the same weekday on the previous 4 weeks (day buckets), when that history exists;
 * otherwise the window's median bucket.
 */
export async function whoDroveSpike(
  backend: AnalyticsBackend,
  args: { range: TimeRange; filters: Filters; at?: Date; limit: number },
): Promise<SpikeReport> {
  const { range, filters } = args;
  if (args.at && (args.at < range.from || args.at >= range.to)) {
    throw new UserInputError(`at (${args.at.toISOString()}) must fall inside the window ${range.from.toISOString()} .. ${range.to.toISOString()}; widen the window or move at.`);
  }
  const bucket: SpikeBucket = lengthMs(range) <= 31 * DAY ? 'hour' : 'day';
  const cycleMs = bucket === 'hour' ? DAY : 7 * DAY;
  const lookback = bucket === 'hour' ? 7 : 4;
  const lookbackFrom = new Date(range.from.getTime() - lookback * cycleMs);
  const counted = await backend.spike.buckets(lookbackFrom, range, filters, bucket);

  // Each bucket's history: the same hour (or weekday) on the `lookback` cycles before it, which
  // the grid always holds (it starts `lookback` cycles before the window).
  const perCycle = cycleMs / (bucket === 'hour' ? HOUR : DAY);
  const firstShown = bucketStart(bucket, range.from).getTime();
  const shown = counted.buckets.map((b, i) => ({ ...b, i })).filter((b) => Date.parse(b.start) >= firstShown);
  const windowMedian = median(counted.buckets.filter((b) => Date.parse(b.start) >= range.from.getTime()).map((b) => b.n)) ?? 0;
  const method: BaselineMethod = counted.before_window > 0
    ? bucket === 'hour' ? 'same_hours_previous_days' : 'same_weekday_previous_weeks'
    : 'median_bucket';
  const buckets: BucketRow[] = shown.map(({ start, n, i }) => {
    if (method === 'median_bucket') return { start, n, baseline: windowMedian };
    const history: number[] = [];
    for (let k = 1; k <= lookback && i - k * perCycle >= 0; k++) history.push(counted.buckets[i - k * perCycle]!.n);
    return { start, n, baseline: median(history) ?? 0 };
  });

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
  const counts = await backend.spike.contributors({ range, filters, periodStart, periodEnd, method, cycleMs, lookback });
  // Contributors are compared with their average over the baseline's buckets.
  const baselineScale = method === 'median_bucket' ? period.rows.length / buckets.length : 1 / lookback;
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
    contributors: rankContributors(counts, baselineScale, args.limit, period.excess),
  };
}

/** Each dimension's contributors by excess, then executions, then key (byte order, null last). */
function rankContributors(counts: ContributorCounts[], scale: number, limit: number, totalExcess: number): SpikeReport['contributors'] {
  const out: SpikeReport['contributors'] = { users: [], tools: [], user_tool_pairs: [], teams: [], clients: [] };
  const scored = counts.map((c) => ({
    dimension: c.dimension,
    row: {
      key: c.key,
      executions: c.executions,
      baseline: round(c.baseline_executions * scale, 1),
      excess: round(c.executions - c.baseline_executions * scale, 1),
      success_rate: c.finished > 0 ? round(c.succeeded / c.finished) : null,
      sample_execution_ids: c.sample_execution_ids,
    },
  }));
  scored.sort((a, b) =>
    b.row.excess - a.row.excess ||
    b.row.executions - a.row.executions ||
    byteOrder(a.row.key, b.row.key),
  );
  for (const { dimension, row } of scored) {
    if (out[dimension].length < limit) out[dimension].push({ ...row, share_of_excess: totalExcess > 0 ? round(row.excess / totalExcess) : null });
  }
  return out;
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

/**
 * Disjoint time spans covering the period and the same span on each of the `lookback` previous
 * cycles (merged where they touch or overlap, as they do when the period is longer than a cycle).
 */
export function scanSpans(periodStart: Date, periodEnd: Date, cycleMs: number, lookback: number): Array<[Date, Date]> {
  return mergeSpans([...baselineSpans(periodStart, periodEnd, cycleMs, lookback).map(({ from, to }): [number, number] => [from.getTime(), to.getTime()]), [periodStart.getTime(), periodEnd.getTime()]])
    .map(([from, to]) => [new Date(from), new Date(to)]);
}

/** The period's span on each of the `lookback` cycles before it, oldest first, overlapping ones merged. */
export function baselineSpans(periodStart: Date, periodEnd: Date, cycleMs: number, lookback: number): TimeRange[] {
  const length = periodEnd.getTime() - periodStart.getTime();
  const spans: Array<[number, number]> = [];
  for (let k = lookback; k >= 1; k--) {
    const from = periodStart.getTime() - k * cycleMs;
    spans.push([from, Math.min(from + length, periodStart.getTime())]);
  }
  return mergeSpans(spans).map(([from, to]) => ({ from: new Date(from), to: new Date(to) }));
}

/** Spans in time order, those that touch or overlap merged. */
function mergeSpans(spans: Array<[number, number]>): Array<[number, number]> {
  const merged: Array<[number, number]> = [];
  for (const span of spans) {
    const last = merged[merged.length - 1];
    if (last && span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
    else merged.push([...span]);
  }
  return merged;
}
