import type { AlertRule, RuleOf } from '../alerts/rules.js';
import { ms } from '../alerts/rules.js';
import type { Db, Params } from '../store/store.js';
import { FILTER_COLUMNS, filterConditions, type Filters } from './filters.js';
import { periodRange, sqlTime } from './time-range.js';
import { usageRows } from './duckdb/usage-rows.js';
import { cursorRows, lagOf, registeredSinks } from '../store/export.js';

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

/** The columns a rule may group by, beyond the filter columns. */
const GROUP_COLUMNS: Record<string, string> = { ...FILTER_COLUMNS, source: 'source' };

function groupExpr(dimension: string | undefined): string {
  if (!dimension) return "''";
  return `coalesce(CAST(${GROUP_COLUMNS[dimension]} AS VARCHAR), '(none)')`;
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

export async function alertSignal(db: Db, rule: AlertRule, args: SignalArgs): Promise<Signal> {
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

function timeParams(params: Params, from: number, to: number, prefix = ''): string {
  params[`${prefix}from`] = sqlTime(new Date(from));
  params[`${prefix}to`] = sqlTime(new Date(to));
  return `started_at >= CAST($${prefix}from AS TIMESTAMP) AND started_at < CAST($${prefix}to AS TIMESTAMP)`;
}

function andFilters(filters: Filters, params: Params): string {
  return filterConditions(filters, params).map((c) => ` AND ${c}`).join('');
}

interface MinuteRow {
  g: string;
  m: number;
}

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

const FAILED = "status IN ('failed', 'terminated')";

async function executionWindows(db: Db, rule: RuleOf<'error_rate' | 'failures' | 'latency_p95'>, from: number, to: number): Promise<Signal> {
  const window = ms(rule.window);
  const params: Params = {};
  let failed = FAILED;
  if (rule.kind === 'failures' && rule.error_type) {
    params.error_type = rule.error_type;
    failed += ' AND error_type = $error_type';
  }
  if (rule.kind === 'failures' && rule.error_layer) {
    params.error_layer = rule.error_layer;
    failed += ' AND error_layer = $error_layer';
  }
  const durations = rule.kind === 'latency_p95' ? `, list(duration_ms) FILTER (duration_ms IS NOT NULL AND status <> 'running') AS d` : '';
  const rows = await db.all<MinuteRow & { n: number; f: number; d?: number[] }>(
    `SELECT ${groupExpr(rule.group_by)} AS g, epoch_ms(date_trunc('minute', started_at))::DOUBLE AS m,
            count(*) FILTER (status <> 'running')::INTEGER AS n, count(*) FILTER (${failed})::INTEGER AS f${durations}
     FROM executions WHERE ${timeParams(params, from - window, to)}${andFilters(rule.filters, params)}
     GROUP BY ALL`,
    params,
  );
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
async function volumeSpike(db: Db, rule: RuleOf<'volume_spike'>, from: number, to: number): Promise<Signal> {
  const measure = rule.measure === 'tasks' ? 'sum(tasks)::DOUBLE' : rule.measure === 'failures' ? `count(*) FILTER (${FAILED})::DOUBLE` : 'count(*)::DOUBLE';
  const params: Params = {};
  const ranges = Array.from({ length: 8 }, (_, k) => `(${timeParams(params, from - k * DAY - HOUR, to - k * DAY, `r${k}_`)})`);
  const rows = await db.all<{ m: number; v: number; n: number }>(
    `SELECT epoch_ms(date_trunc('minute', started_at))::DOUBLE AS m, ${measure} AS v, count(*)::DOUBLE AS n
     FROM executions WHERE (${ranges.join(' OR ')})${andFilters(rule.filters, params)}
     GROUP BY ALL`,
    params,
  );
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
async function budget(db: Db, rule: RuleOf<'budget'>, from: number, to: number, tz: string): Promise<Signal> {
  const column = FILTER_COLUMNS[rule.group_by];
  const measure = rule.measure === 'tasks' ? 'tasks' : 'cost_usd';
  const first = periodRange(rule.period, new Date(from), tz);
  const params: Params = {};
  // Spent before `from` in its period, from the hourly rollup; each minute since, from executions.
  const base = first.from.getTime() < from
    ? await db.all<{ g: string; v: number }>(
        `SELECT coalesce(CAST(${column} AS VARCHAR), '(none)') AS g, coalesce(sum(${measure}), 0)::DOUBLE AS v
         FROM ${usageRows({ from: first.from, to: new Date(from) }, rule.filters, params, 'b_')} AS u GROUP BY 1`,
        params,
      )
    : [];
  const minuteParams: Params = {};
  const rows = await db.all<{ g: string; m: number; v: number }>(
    `SELECT coalesce(CAST(${column} AS VARCHAR), '(none)') AS g, epoch_ms(date_trunc('minute', started_at))::DOUBLE AS m,
            coalesce(sum(${measure}), 0)::DOUBLE AS v
     FROM executions WHERE ${timeParams(minuteParams, from, to)}${andFilters(rule.filters, minuteParams)}
     GROUP BY ALL ORDER BY m`,
    minuteParams,
  );
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

async function feedSilence(db: Db, rule: RuleOf<'feed_silence'>, from: number, to: number): Promise<Signal> {
  const silentFor = ms(rule.silent_for);
  const memory = Math.max(FEED_MEMORY_MS, 4 * silentFor);
  const params: Params = {};
  const g = groupExpr(rule.group_by);
  const before = await db.all<MinuteRow>(
    `SELECT ${g} AS g, epoch_ms(date_trunc('minute', max(started_at)))::DOUBLE AS m
     FROM executions WHERE ${timeParams(params, from - memory, from, 'b_')}${andFilters(rule.filters, params)} GROUP BY 1`,
    params,
  );
  const inRange = await db.all<MinuteRow>(
    `SELECT DISTINCT ${g} AS g, epoch_ms(date_trunc('minute', started_at))::DOUBLE AS m
     FROM executions WHERE ${timeParams(params, from, to)}${andFilters(rule.filters, params)}`,
    params,
  );
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
async function unusedTools(db: Db, rule: RuleOf<'unused_tool'>, from: number, to: number): Promise<Signal> {
  const window = rule.days * DAY;
  const params: Params = { from: sqlTime(new Date(from - window)), to: sqlTime(new Date(to)) };
  const conditions: string[] = [];
  if (rule.filters.tool) {
    params.tool = rule.filters.tool;
    conditions.push('t.name = $tool');
  }
  if (rule.filters.server) {
    params.server = rule.filters.server;
    conditions.push("coalesce(t.server, '') = $server");
  }
  const tools = await db.all<{ g: string; name: string; server: string; first_seen: number | null }>(
    `SELECT t.name || coalesce(' (' || nullif(t.server, '') || ')', '') AS g, t.name, t.server,
            epoch_ms(t.first_seen)::DOUBLE AS first_seen
     FROM tools t ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}`,
    params,
  );
  const hours = await db.all<MinuteRow>(
    `SELECT DISTINCT tool_name || coalesce(' (' || nullif(tool_server, '') || ')', '') AS g, epoch_ms(hour)::DOUBLE AS m
     FROM hourly_usage WHERE hour >= CAST($from AS TIMESTAMP) AND hour < CAST($to AS TIMESTAMP)`,
    params,
  );
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
async function unmaskActivity(db: Db, rule: RuleOf<'unmask_activity'>, from: number, to: number): Promise<Signal> {
  const window = ms(rule.window);
  const params: Params = { from: sqlTime(new Date(from - window)), to: sqlTime(new Date(to)), actions: rule.actions.join(',') };
  const rows = await db.all<MinuteRow & { n: number; denied: number; seqs: number[] }>(
    `SELECT actor AS g, epoch_ms(date_trunc('minute', occurred_at))::DOUBLE AS m, count(*)::INTEGER AS n,
            count(*) FILTER (action = 'unmask_denied')::INTEGER AS denied, list(seq::DOUBLE ORDER BY seq) AS seqs
     FROM audit_events
     WHERE occurred_at >= CAST($from AS TIMESTAMP) AND occurred_at < CAST($to AS TIMESTAMP)
       AND list_contains(string_split($actions, ','), action)
     GROUP BY ALL`,
    params,
  );
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
async function definitionChanges(db: Db, rule: RuleOf<'tool_definition_changed'>, from: number, to: number): Promise<Signal> {
  const window = ms(rule.window);
  const params: Params = { from: sqlTime(new Date(from - window)), to: sqlTime(new Date(to)) };
  const server = rule.filters.server ? ' AND l.server = $server' : '';
  if (rule.filters.server) params.server = rule.filters.server;
  const rows = await db.all<MinuteRow & { n: number; tools: string[] }>(
    `WITH changes AS (
       SELECT l.server, l.first_seen, l.tool_count FROM server_tool_lists l
       WHERE l.first_seen >= CAST($from AS TIMESTAMP) AND l.first_seen < CAST($to AS TIMESTAMP)${server}
         AND EXISTS (SELECT 1 FROM server_tool_lists o WHERE o.server = l.server AND o.first_seen < l.first_seen)
     )
     SELECT c.server AS g, epoch_ms(date_trunc('minute', c.first_seen))::DOUBLE AS m, count(DISTINCT c.first_seen)::INTEGER AS n,
            coalesce(list(DISTINCT d.name ORDER BY d.name) FILTER (d.name IS NOT NULL), []) AS tools
     FROM changes c LEFT JOIN tool_definitions d ON d.server = c.server AND d.first_seen = c.first_seen
     GROUP BY ALL`,
    params,
  );
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
async function exportLag(db: Db, rule: RuleOf<'export_lag'>, to: number): Promise<Signal> {
  const signal: Signal = new Map();
  const maxDelayS = ms(rule.max_delay) / 1000;
  for (const { sink, streams } of await registeredSinks(db)) {
    const lag = await lagOf(db, await cursorRows(db, sink), streams);
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
  db: Db,
  args: { filters: Filters; to: Date; bucketMs: number; buckets: number },
): Promise<Array<{ start: string; executions: number; failed: number; p95_ms: number | null }>> {
  const from = args.to.getTime() - args.bucketMs * args.buckets;
  const params: Params = { bucket_ms: args.bucketMs, origin: from };
  const rows = await db.all<{ i: number; executions: number; failed: number; p95_ms: number | null }>(
    `SELECT floor((epoch_ms(started_at) - $origin) / $bucket_ms)::INTEGER AS i, count(*)::INTEGER AS executions,
            count(*) FILTER (${FAILED})::INTEGER AS failed, round(quantile_cont(duration_ms, 0.95), 1)::DOUBLE AS p95_ms
     FROM executions WHERE ${timeParams(params, from, args.to.getTime())}${andFilters(args.filters, params)}
     GROUP BY 1`,
    params,
  );
  const byIndex = new Map(rows.map((r) => [r.i, r]));
  return Array.from({ length: args.buckets }, (_, i) => {
    const row = byIndex.get(i);
    return { start: new Date(from + i * args.bucketMs).toISOString(), executions: row?.executions ?? 0, failed: row?.failed ?? 0, p95_ms: row?.p95_ms ?? null };
  });
}

/** Execution ids behind an alert: the latest failures, the slowest, or the latest of all, in [from, to). */
export async function sampleExecutions(
  db: Db,
  args: { filters: Filters; from: Date; to: Date; pick: 'failed' | 'slowest' | 'latest'; limit: number },
): Promise<string[]> {
  const params: Params = { limit: args.limit };
  const where = `${timeParams(params, args.from.getTime(), args.to.getTime())}${andFilters(args.filters, params)}${args.pick === 'failed' ? ` AND ${FAILED}` : ''}`;
  const order = args.pick === 'slowest' ? 'duration_ms DESC NULLS LAST' : 'started_at DESC';
  const rows = await db.all<{ id: string }>(`SELECT execution_id AS id FROM executions WHERE ${where} ORDER BY ${order}, execution_id LIMIT $limit`, params);
  return rows.map((r) => r.id);
}
