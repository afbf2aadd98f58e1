import type { AlertRule, RuleOf } from '../alerts/rules.js';
import { ms } from '../alerts/rules.js';
import { FILTER_COLUMNS, type Filters } from './filters.js';
import { periodRange } from './time-range.js';

/**
 * What each alert rule watches, as a series of change points per group: the condition's value is
 * constant from one point to the next. Live evaluation asks for the value at one tick (from = to),
 * a backtest for a whole window, through the same function, so the two agree by construction.
 *
 * Ticks are whole minutes, and an execution counts from the end of the minute it started in: at
 * tick T a window of length W holds the executions started in [T - W, T).
 */

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export interface SignalPoint {
  /** From this tick (epoch ms) until the group's next point. */
  at: number;
  active: boolean;
  /** The measured value (a rate, a count, milliseconds, minutes of silence, ...). */
  value: number;
  /** What the value was measured over (executions in the window), for the minimum-volume guard and the text. */
  volume: number;
  threshold: number;
  detail?: Record<string, unknown>;
}

/** Points per group ('' when the rule has no grouping), in time order. */
export type Signal = Map<string, SignalPoint[]>;

export interface SignalArgs {
  from: Date;
  to: Date;
  /** The zone of budget periods (serve --tz). */
  tz?: string;
}

/** What a rule may group by: the filters' dimensions, and the source. Absent or NULL values are '(none)'. */
export type GroupColumn = keyof Filters | 'source';

/** The column behind each group dimension (the same in both engines' SQL). */
export const GROUP_COLUMNS: Record<GroupColumn, string> = { ...FILTER_COLUMNS, source: 'source' };

/** The executions an alert counts as failures (the same in both engines' SQL). */
export const FAILED = "status IN ('failed', 'terminated')";

/** A group's minute (epoch ms of its start): the rows the windows slide over. */
export interface MinuteRow {
  g: string;
  m: number;
}

type Span = { from: number; to: number };
type Scope = Span & { groupBy?: GroupColumn; filters: Filters };

/**
 * What the signals ask of a storage engine (duckdb/alert-signals.ts, clickhouse/alert-signals.ts):
 * plain rows per group and minute; the signals are shaped from them here, the same for both.
 * Times are epoch ms, ranges half-open.
 */
export interface AlertSignalQueries {
  /** Per group and minute: executions finished (n), failed or terminated (f, of the error type and layer when given), and the finished ones' durations. */
  executionMinutes(a: Scope & { errorType?: string; errorLayer?: string; durations: boolean }): Promise<Array<MinuteRow & { n: number; f: number; d?: number[] }>>;
  /** Per minute within any of the ranges: the measure, and the executions (whether there was traffic). */
  volumeMinutes(a: { ranges: Span[]; measure: 'executions' | 'failures' | 'tasks'; filters: Filters }): Promise<Array<{ m: number; v: number; n: number }>>;
  /** Spent per group value over the range. */
  spent(a: Span & { groupBy: keyof Filters; measure: 'tasks' | 'cost_usd'; filters: Filters }): Promise<Array<{ g: string; v: number }>>;
  /** Spent per group value and minute, in minute order. */
  spentMinutes(a: Span & { groupBy: keyof Filters; measure: 'tasks' | 'cost_usd'; filters: Filters }): Promise<Array<MinuteRow & { v: number }>>;
  /** Each group's last minute with an execution in the range. */
  lastMinutes(a: Scope): Promise<MinuteRow[]>;
  /** Every (group, minute) with an execution in the range. */
  minutes(a: Scope): Promise<MinuteRow[]>;
  /** The catalog's tools as `name (server)`, and when each first ran (null: never). */
  catalogTools(a: { tool?: string; server?: string }): Promise<Array<{ g: string; first_seen: number | null }>>;
  /** Every (tool as `name (server)`, hour) with an execution, hours in the range. */
  usedHours(a: Span): Promise<MinuteRow[]>;
  /** The audit events of these actions per actor and minute: how many, how many denied, their sequence numbers. */
  unmaskMinutes(a: Span & { actions: readonly string[] }): Promise<Array<MinuteRow & { n: number; denied: number; seqs: number[] }>>;
  /** Per server and minute: the new versions of its tool list (not its first), and the tools whose definition changed with them. */
  listChanges(a: Span & { server?: string }): Promise<Array<MinuteRow & { n: number; tools: string[] }>>;
  /** Each configured export sink: events not sent yet, and when the oldest was stored. */
  exportLags(): Promise<Array<{ sink: string; events: number; oldest: string | null }>>;
  /** Executions, failures and the p95 duration (interpolated, unrounded) per bucket `i` of `bucketMs`, the `buckets` that end at `to`. */
  series(a: { filters: Filters; to: number; bucketMs: number; buckets: number }): Promise<Array<{ i: number; executions: number; failed: number; p95_ms: number | null }>>;
  /** Execution ids: the latest failures, the slowest, or the latest, in the range. */
  samples(a: Span & { filters: Filters; pick: 'failed' | 'slowest' | 'latest'; limit: number }): Promise<string[]>;
}

/** The value at tick `at` of one group: its last point at or before it. */
export function valueAt(points: readonly SignalPoint[], at: number): SignalPoint | undefined {
  let found: SignalPoint | undefined;
  for (const point of points) {
    if (point.at > at) break;
    found = point;
  }
  return found;
}

export async function alertSignal(db: AlertSignalQueries, rule: AlertRule, args: SignalArgs): Promise<Signal> {
  const from = floorMinute(args.from.getTime());
  const to = floorMinute(args.to.getTime());
  switch (rule.kind) {
    case 'error_rate':
    case 'failures':
    case 'latency_p95':
      return executionWindows(db, rule, from, to);
    case 'volume_spike':
      return volumeSpike(db, rule, from, to);
    case 'budget':
      return budget(db, rule, from, to, args.tz ?? 'UTC');
    case 'feed_silence':
      return feedSilence(db, rule, from, to);
    case 'unused_tool':
      return unusedTools(db, rule, from, to);
    case 'unmask_activity':
      return unmaskActivity(db, rule, from, to);
    case 'tool_definition_changed':
      return definitionChanges(db, rule, from, to);
    case 'export_lag':
      return exportLag(db, rule, to);
  }
}

const floorMinute = (t: number) => Math.floor(t / MIN) * MIN;

/**
 * Sliding windows over per-minute rows: the window's content changes when a minute enters (at
 * m + enterAfter) or leaves (W later), so those are the only points. `judge` turns the rows in
 * the window into the point's value and whether the condition holds.
 */
function slide<R extends MinuteRow>(
  rows: readonly R[],
  windowMs: number,
  to: number,
  judge: (inWindow: readonly R[], at: number) => Omit<SignalPoint, 'at'>,
  enterAfter = MIN,
): Signal {
  const byGroup = new Map<string, R[]>();
  for (const row of rows) {
    const list = byGroup.get(row.g) ?? [];
    list.push(row);
    byGroup.set(row.g, list);
  }
  const signal: Signal = new Map();
  for (const [group, list] of byGroup) {
    list.sort((a, b) => a.m - b.m);
    const ticks = [...new Set(list.flatMap((r) => [r.m + enterAfter, r.m + enterAfter + windowMs]))].filter((t) => t <= to).sort((a, b) => a - b);
    const points: SignalPoint[] = [];
    let lo = 0;
    let hi = 0;
    for (const at of ticks) {
      while (hi < list.length && list[hi]!.m + enterAfter <= at) hi++;
      while (lo < hi && list[lo]!.m + enterAfter + windowMs <= at) lo++;
      points.push({ at, ...judge(list.slice(lo, hi), at) });
    }
    signal.set(group, compact(points));
  }
  return signal;
}

/** Keeps the points that matter to the state: every active one (its value), and each change to inactive. */
function compact(points: readonly SignalPoint[]): SignalPoint[] {
  const kept: SignalPoint[] = [];
  for (const point of points) {
    const last = kept[kept.length - 1];
    if (point.active || !last || last.active) kept.push(point);
  }
  return kept;
}

async function executionWindows(db: AlertSignalQueries, rule: RuleOf<'error_rate' | 'failures' | 'latency_p95'>, from: number, to: number): Promise<Signal> {
  const window = ms(rule.window);
  const rows = await db.executionMinutes({
    groupBy: rule.group_by, filters: rule.filters, from: from - window, to,
    ...(rule.kind === 'failures' ? { errorType: rule.error_type, errorLayer: rule.error_layer } : {}),
    durations: rule.kind === 'latency_p95',
  });
  return slide(rows, window, to, (inWindow) => {
    const n = sum(inWindow, (r) => r.n);
    const f = sum(inWindow, (r) => r.f);
    if (rule.kind === 'failures') return { active: f > rule.threshold, value: f, volume: n, threshold: rule.threshold };
    if (rule.kind === 'error_rate') {
      const rate = n > 0 ? f / n : 0;
      return { active: n >= rule.min_executions && rate > rule.threshold, value: round(rate, 4), volume: n, threshold: rule.threshold, detail: { failed: f } };
    }
    const all = inWindow.flatMap((r) => r.d ?? []);
    const p95 = quantile(all, 0.95);
    return { active: all.length >= rule.min_executions && all.length > 0 && p95 > rule.threshold_ms, value: round(p95, 1), volume: all.length, threshold: rule.threshold_ms };
  });
}

/**
 * The last hour against the same hour on each of the previous 7 days (their median), as
 * who_drove_spike measures a spike; evaluated at every tick, since the baseline moves each minute.
 */
async function volumeSpike(db: AlertSignalQueries, rule: RuleOf<'volume_spike'>, from: number, to: number): Promise<Signal> {
  const ranges = Array.from({ length: 8 }, (_, k) => ({ from: from - k * DAY - HOUR, to: to - k * DAY }));
  const rows = await db.volumeMinutes({ ranges, measure: rule.measure, filters: rule.filters });
  const origin = from - 7 * DAY - HOUR;
  const size = (to - origin) / MIN;
  // Prefix sums per minute: of the measure, and of executions (whether there was traffic at all).
  const measured = new Float64Array(size + 1);
  const traffic = new Float64Array(size + 1);
  for (const row of rows) {
    const i = (row.m - origin) / MIN;
    if (i >= 0 && i < size) {
      measured[i + 1] = row.v;
      traffic[i + 1] = row.n;
    }
  }
  for (let i = 0; i < size; i++) {
    measured[i + 1]! += measured[i]!;
    traffic[i + 1]! += traffic[i]!;
  }
  // The sum over [t - 1h, t), t a tick.
  const lastHour = (sums: Float64Array, t: number) => sums[(t - origin) / MIN]! - sums[(t - HOUR - origin) / MIN]!;
  const points: SignalPoint[] = [];
  for (let at = from; at <= to; at += MIN) {
    const value = lastHour(measured, at);
    const days = Array.from({ length: 7 }, (_, k) => at - (k + 1) * DAY);
    // No traffic in any of those hours (a new fleet, a feed that just started): no baseline to
    // compare with. Traffic without a single failure is a baseline of zero failures.
    const known = days.some((t) => lastHour(traffic, t) > 0);
    const baseline = median(days.map((t) => lastHour(measured, t)));
    const active = known && value >= rule.min_count && value > rule.factor * baseline;
    points.push({ at, active, value: round(value, 2), volume: value, threshold: round(rule.factor * baseline, 2), detail: { baseline: round(baseline, 2) } });
  }
  return new Map([['', compact(points)]]);
}

/**
 * Spend per group in each calendar period: exceeded once it passes the limit, and (warn_projected)
 * projected to pass it at the pace so far, judged when the spend changes and after a tenth of the
 * period. Each period and phase is its own group, so each fires once.
 */
async function budget(db: AlertSignalQueries, rule: RuleOf<'budget'>, from: number, to: number, tz: string): Promise<Signal> {
  const first = periodRange(rule.period, new Date(from), tz);
  const scope = { groupBy: rule.group_by, measure: rule.measure, filters: rule.filters };
  // Spent before `from` in its period; then each minute since.
  const base = first.from.getTime() < from ? await db.spent({ ...scope, from: first.from.getTime(), to: from }) : [];
  const rows = await db.spentMinutes({ ...scope, from, to });
  const signal: Signal = new Map();
  const periodKeys = new Set<string>();
  const push = (key: string, point: SignalPoint) => {
    const list = signal.get(key) ?? [];
    const last = list[list.length - 1];
    if (!point.active && !last?.active) return;
    list.push(point);
    signal.set(key, list);
    periodKeys.add(key);
  };
  let period = first;
  const spent = new Map<string, number>(base.map((b) => [b.g, b.v]));
  const judge = (g: string, at: number) => {
    const value = round(spent.get(g) ?? 0, 4);
    const start = period.from.getTime();
    const length = period.to.getTime() - start;
    const label = `${rule.group_by}=${g}, ${rule.period} of ${new Date(start).toISOString().slice(0, 10)}`;
    const exceeded = value > rule.limit;
    push(`${label}, exceeded`, { at, active: exceeded, value, volume: value, threshold: rule.limit, detail: { group_value: g, period_start: new Date(start).toISOString(), period_end: period.to.toISOString() } });
    if (rule.warn_projected) {
      const elapsed = at - start;
      const projected = elapsed >= length / 10 ? (value * length) / elapsed : 0;
      push(`${label}, projected`, {
        at, active: !exceeded && projected > rule.limit, value: round(projected, 4), volume: value, threshold: rule.limit,
        detail: { group_value: g, spent: value, period_start: new Date(start).toISOString(), period_end: period.to.toISOString() },
      });
    }
  };
  for (const g of spent.keys()) judge(g, from);
  const closePeriod = () => {
    // The period ends: its alerts resolve, and spend starts again from zero.
    const end = period.to.getTime();
    for (const key of periodKeys) {
      const list = signal.get(key)!;
      const last = list[list.length - 1];
      if (last?.active) list.push({ ...last, at: end, active: false });
    }
    periodKeys.clear();
    spent.clear();
    period = periodRange(rule.period, new Date(end), tz);
  };
  for (const row of rows) {
    while (row.m >= period.to.getTime()) closePeriod();
    spent.set(row.g, (spent.get(row.g) ?? 0) + row.v);
    // Spend in a period's last minute is seen at the tick that ends the period: too late to alert on.
    if (row.m + MIN < period.to.getTime()) judge(row.g, row.m + MIN);
  }
  while (period.to.getTime() <= to) closePeriod();
  return signal;
}

/** How long before a silent feed is forgotten: a feed gone this long has been retired, not lost. */
export const FEED_MEMORY_MS = 7 * DAY;

async function feedSilence(db: AlertSignalQueries, rule: RuleOf<'feed_silence'>, from: number, to: number): Promise<Signal> {
  const silentFor = ms(rule.silent_for);
  const memory = Math.max(FEED_MEMORY_MS, 4 * silentFor);
  const [before, inRange] = await Promise.all([
    db.lastMinutes({ groupBy: rule.group_by, filters: rule.filters, from: from - memory, to: from }),
    db.minutes({ groupBy: rule.group_by, filters: rule.filters, from, to }),
  ]);
  const byGroup = new Map<string, number[]>();
  for (const row of [...before, ...inRange]) {
    const list = byGroup.get(row.g);
    if (list) list.push(row.m);
    else byGroup.set(row.g, [row.m]);
  }
  const signal: Signal = new Map();
  for (const [group, minutes] of byGroup) {
    minutes.sort((a, b) => a - b);
    const points: SignalPoint[] = [];
    minutes.forEach((m, i) => {
      const seen = m + MIN;
      const next = minutes[i + 1] !== undefined ? minutes[i + 1]! + MIN : Infinity;
      points.push({ at: seen, active: false, value: 0, volume: 0, threshold: silentFor / MIN });
      const silentAt = seen + silentFor;
      if (silentAt < next && silentAt <= to) {
        points.push({ at: silentAt, active: true, value: silentFor / MIN, volume: 0, threshold: silentFor / MIN, detail: { last_execution_minute: new Date(m).toISOString() } });
        const forgotten = seen + memory;
        if (forgotten < next && forgotten <= to) points.push({ at: forgotten, active: false, value: memory / MIN, volume: 0, threshold: silentFor / MIN, detail: { forgotten: true } });
      }
    });
    signal.set(group, compact(points));
  }
  return signal;
}

/**
 * One digest for the rule: the catalog tools (as unused_tools counts them) with no execution in
 * the last `days`, from the hourly rollup (an hour's use counts from the start of that hour).
 */
async function unusedTools(db: AlertSignalQueries, rule: RuleOf<'unused_tool'>, from: number, to: number): Promise<Signal> {
  const window = rule.days * DAY;
  const [tools, hours] = await Promise.all([
    db.catalogTools({ tool: rule.filters.tool, server: rule.filters.server }),
    db.usedHours({ from: from - window, to }),
  ]);
  const used = slide(hours, window, to, () => ({ active: true, value: 1, volume: 1, threshold: 0 }), 0);
  // Per tool: the ticks at which it turns used or unused; then the digest at each of them.
  const ticks = new Set<number>([from]);
  for (const tool of tools) {
    for (const p of used.get(tool.g) ?? []) ticks.add(p.at);
    if (tool.first_seen !== null && tool.first_seen > from && tool.first_seen <= to) ticks.add(Math.ceil(tool.first_seen / MIN) * MIN);
  }
  const points: SignalPoint[] = [];
  for (const at of [...ticks].sort((a, b) => a - b)) {
    const unused = tools
      .filter((t) => (t.first_seen === null || t.first_seen < at) && !valueAt(used.get(t.g) ?? [], at)?.active)
      .map((t) => t.g)
      .sort();
    points.push({ at, active: unused.length > 0, value: unused.length, volume: tools.length, threshold: 0, detail: { tools: unused.slice(0, 50), more: Math.max(0, unused.length - 50) } });
  }
  return new Map([['', compactDigest(points)]]);
}

/** Like compact, but a digest's list may change while it stays active: keep only changes. */
function compactDigest(points: readonly SignalPoint[]): SignalPoint[] {
  const kept: SignalPoint[] = [];
  for (const point of points) {
    const last = kept[kept.length - 1];
    if (!last || last.active !== point.active || JSON.stringify(last.detail) !== JSON.stringify(point.detail)) kept.push(point);
  }
  return kept;
}

/** Unmasks (and denied attempts) per admin, from the audit log, in a sliding window. */
async function unmaskActivity(db: AlertSignalQueries, rule: RuleOf<'unmask_activity'>, from: number, to: number): Promise<Signal> {
  const window = ms(rule.window);
  const rows = await db.unmaskMinutes({ from: from - window, to, actions: rule.actions });
  return slide(rows, window, to, (inWindow) => {
    const n = sum(inWindow, (r) => r.n);
    return {
      active: n > rule.threshold, value: n, volume: n, threshold: rule.threshold,
      detail: { denied: sum(inWindow, (r) => r.denied), audit_seqs: inWindow.flatMap((r) => r.seqs).slice(-10) },
    };
  });
}

/**
 * A server's tool list changing (a new version of the list the recording proxy saw it answer),
 * firing for `window` after the change, with the tools whose definition changed then.
 */
async function definitionChanges(db: AlertSignalQueries, rule: RuleOf<'tool_definition_changed'>, from: number, to: number): Promise<Signal> {
  const window = ms(rule.window);
  const rows = await db.listChanges({ from: from - window, to, server: rule.filters.server });
  return slide(rows, window, to, (inWindow) => ({
    active: inWindow.length > 0, value: sum(inWindow, (r) => r.n), volume: 0, threshold: 0,
    detail: { changed_tools: [...new Set(inWindow.flatMap((r) => r.tools))].sort(), changed_at: inWindow.map((r) => new Date(r.m).toISOString()) },
  }));
}

/**
 * How far each export sink is behind now. Export runs on the wall clock and keeps no history of
 * its lag: the one point is the present, at the last tick (a backtest shows only whether it
 * would fire now).
 */
async function exportLag(db: AlertSignalQueries, rule: RuleOf<'export_lag'>, to: number): Promise<Signal> {
  const signal: Signal = new Map();
  const maxDelayS = ms(rule.max_delay) / 1000;
  for (const { sink, ...lag } of await db.exportLags()) {
    const delay = lag.oldest ? Math.max(0, Math.round((Date.now() - Date.parse(lag.oldest)) / 1000)) : 0;
    const active = lag.events > rule.max_events || delay > maxDelayS;
    signal.set(sink, [{ at: to, active, value: lag.events, volume: lag.events, threshold: rule.max_events, detail: { delay_seconds: delay, max_delay_seconds: maxDelayS, oldest_waiting: lag.oldest } }]);
  }
  return signal;
}

const sum = <T>(rows: readonly T[], f: (row: T) => number) => rows.reduce((a, r) => a + f(r), 0);
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Linear interpolation between the closest ranks, as DuckDB's quantile_cont. */
function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Executions and failures per bucket, the `buckets` buckets that end at `to`: the series around an alert. */
export async function seriesBefore(
  db: AlertSignalQueries,
  args: { filters: Filters; to: Date; bucketMs: number; buckets: number },
): Promise<Array<{ start: string; executions: number; failed: number; p95_ms: number | null }>> {
  const from = args.to.getTime() - args.bucketMs * args.buckets;
  const rows = await db.series({ filters: args.filters, to: args.to.getTime(), bucketMs: args.bucketMs, buckets: args.buckets });
  const byIndex = new Map(rows.map((r) => [r.i, r]));
  return Array.from({ length: args.buckets }, (_, i) => {
    const row = byIndex.get(i);
    const p95 = row?.p95_ms ?? null;
    return { start: new Date(from + i * args.bucketMs).toISOString(), executions: row?.executions ?? 0, failed: row?.failed ?? 0, p95_ms: p95 === null ? null : round(p95, 1) };
  });
}

/** Execution ids behind an alert: the latest failures, the slowest, or the latest of all, in [from, to). */
export function sampleExecutions(
  db: AlertSignalQueries,
  args: { filters: Filters; from: Date; to: Date; pick: 'failed' | 'slowest' | 'latest'; limit: number },
): Promise<string[]> {
  return db.samples({ filters: args.filters, from: args.from.getTime(), to: args.to.getTime(), pick: args.pick, limit: args.limit });
}
