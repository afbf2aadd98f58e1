import type { Clock } from '../clock.js';
import { parseInstant } from '../clock.js';
import { UserInputError } from '../errors.js';

/** A half-open interval [from, to) in UTC: every analytics question is asked over one. */
export interface TimeRange {
  from: Date;
  to: Date;
}

export interface TimeArgs {
  window?: string;
  from?: string;
  to?: string;
  /** IANA time zone for calendar windows and plain dates (default UTC). */
  tz?: string;
}

/** Windows a person says, aligned to the calendar in the time zone asked for (weeks start on Monday). */
export const CALENDAR_WINDOWS = ['today', 'yesterday', 'this_week', 'last_week', 'this_month', 'last_month'] as const;

/** What `window` accepts, for the error that refuses anything else. */
export const WINDOW_FORMS =
  `a length back from now (90m, 24h, 7d, 2w, 1mo, 1y), a calendar window (${CALENDAR_WINDOWS.join(', ')}), or all (from the oldest execution); for any other range give from/to (RFC 3339, or a plain date like 2026-10-28)`;

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };
const DAY_MS = 86_400_000;
// Only a bound against typos (a year 2206 for 2026): long ranges are answered in week or month
// buckets (seriesBucket), so a century is at most 1,200 points.
const MAX_RANGE_MS = 100 * 366 * DAY_MS;

/** `"90m"`, `"24h"`, `"7d"`, `"2w"` to milliseconds. */
export function parseWindow(window: string): number {
  const match = /^(\d+)\s*([mhdw])$/.exec(window.trim());
  if (!match) {
    throw new UserInputError(`window must be ${WINDOW_FORMS}; got ${JSON.stringify(window)}`);
  }
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  if (ms <= 0) throw new UserInputError('window must be longer than zero');
  if (ms > MAX_RANGE_MS) throw new UserInputError(`window is at most 100 years; got ${window}`);
  return ms;
}

/**
 * Resolves `window` or `from`/`to` once, against the injected clock. `to` is exclusive; with only
 * `from`, the range ends now; with only `to`, it spans the default window before `to`. `all`
 * starts at the midnight (in tz) before `oldest`, the start of the oldest execution stored (see
 * needsOldest); with nothing stored it is today.
 */
export function resolveRange(args: TimeArgs, clock: Clock, defaultWindow = '7d', oldest?: Date | null): TimeRange {
  if (args.window && (args.from || args.to)) {
    throw new UserInputError('Give either window (like "7d") or from/to (RFC 3339), not both.');
  }
  const tz = checkTimeZone(args.tz ?? 'UTC');
  const now = clock.now();
  const calendar = args.window ? (args.window.trim() === 'all' ? allWindow(now, oldest ?? null, tz) : calendarWindow(args.window.trim(), now, tz)) : undefined;
  const to = calendar?.to ?? (args.to ? instantOrDate(args.to, 'to', tz) : now);
  const from = calendar?.from ?? (args.from ? instantOrDate(args.from, 'from', tz) : backFrom(to, args.window ?? defaultWindow, tz));
  if (from.getTime() >= to.getTime()) {
    throw new UserInputError(`from (${from.toISOString()}) must be before to (${to.toISOString()}).`);
  }
  if (to.getTime() - from.getTime() > MAX_RANGE_MS) throw new UserInputError('The range is at most 100 years long; check the years in from and to.');
  return { from, to };
}

/** Whether resolving these arguments needs the oldest stored execution (window "all"). */
export function needsOldest(args: TimeArgs): boolean {
  return args.window?.trim() === 'all';
}

function allWindow(now: Date, oldest: Date | null, tz: string): TimeRange {
  const start = oldest && oldest.getTime() < now.getTime() ? oldest : now;
  const { year, month, day } = localParts(start, tz);
  let from = zonedTime(year, month, day, 0, tz);
  if (from.getTime() >= now.getTime()) from = new Date(now.getTime() - DAY_MS);
  return { from, to: now };
}

/** An IANA zone name that this runtime knows, or a UserInputError that says what to give. */
export function checkTimeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz;
  } catch {
    throw new UserInputError(`tz must be an IANA time zone name like UTC, Europe/Berlin or America/New_York; got ${JSON.stringify(tz)}`);
  }
}

/** `1mo` and `1y` are calendar lengths (a month ago may be 28 to 31 days); the rest are fixed. */
function backFrom(to: Date, window: string, tz: string): Date {
  const calendar = /^(\d+)\s*(mo|y)$/.exec(window.trim());
  if (!calendar) return new Date(to.getTime() - parseWindow(window));
  const count = Number(calendar[1]);
  if (count <= 0) throw new UserInputError('window must be longer than zero');
  const local = localParts(to, tz);
  const months = calendar[2] === 'y' ? 12 * count : count;
  const month = local.month - months;
  const year = local.year + Math.floor((month - 1) / 12);
  const m = ((((month - 1) % 12) + 12) % 12) + 1;
  const day = Math.min(local.day, daysIn(year, m));
  return zonedTime(year, m, day, local.msOfDay, tz);
}

/** An RFC 3339 instant, or a plain date (its midnight in `tz`). */
function instantOrDate(value: string, what: string, tz: string): Date {
  const plain = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  if (!plain) {
    if (!/^\d{4}-\d{2}-\d{2}[Tt ]/.test(value.trim())) {
      throw new UserInputError(`${what} must be an RFC 3339 timestamp with a zone (2026-11-02T09:14:03Z) or a plain date (2026-11-02); got ${JSON.stringify(value)}. For today, yesterday or last_week use window.`);
    }
    return parseInstant(value, what);
  }
  const [year, month, day] = [Number(plain[1]), Number(plain[2]), Number(plain[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) throw new UserInputError(`${what} is not a real date: ${JSON.stringify(value)}`);
  return zonedTime(year, month, day, 0, tz);
}

function calendarWindow(window: string, now: Date, tz: string): TimeRange | undefined {
  if (!(CALENDAR_WINDOWS as readonly string[]).includes(window)) return undefined;
  const { year, month, day, weekday } = localParts(now, tz);
  const dayStart = (offsetDays: number) => {
    const d = new Date(Date.UTC(year, month - 1, day + offsetDays));
    return zonedTime(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), 0, tz);
  };
  const monthStart = (offsetMonths: number) => {
    const d = new Date(Date.UTC(year, month - 1 + offsetMonths, 1));
    return zonedTime(d.getUTCFullYear(), d.getUTCMonth() + 1, 1, 0, tz);
  };
  const sinceMonday = (weekday + 6) % 7;
  switch (window) {
    case 'today': return { from: dayStart(0), to: now };
    case 'yesterday': return { from: dayStart(-1), to: dayStart(0) };
    case 'this_week': return { from: dayStart(-sinceMonday), to: now };
    case 'last_week': return { from: dayStart(-sinceMonday - 7), to: dayStart(-sinceMonday) };
    case 'this_month': return { from: monthStart(0), to: now };
    default: return { from: monthStart(-1), to: monthStart(0) };
  }
}

/** The whole calendar day, week (from Monday) or month in `tz` that holds `at`: [start, end). */
export function periodRange(period: 'day' | 'week' | 'month', at: Date, tz = 'UTC'): TimeRange {
  const window = period === 'day' ? 'today' : period === 'week' ? 'this_week' : 'this_month';
  const from = calendarWindow(window, at, tz)!.from;
  // Past the next start by half a day at least (DST days are 23 or 25 hours; months 28 to 31 days).
  const beyond = new Date(from.getTime() + (period === 'day' ? 36 : period === 'week' ? 7.5 * 24 : 31.5 * 24) * 3_600_000);
  return { from, to: calendarWindow(window, beyond, tz)!.from };
}

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** The wall-clock date and time of `instant` in `tz`. */
function localParts(instant: Date, tz: string): { year: number; month: number; day: number; weekday: number; msOfDay: number } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
      .formatToParts(instant)
      .map((p) => [p.type, Number(p.value)]),
  ) as Record<string, number>;
  const local = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    weekday: new Date(Date.UTC(parts.year!, parts.month! - 1, parts.day!)).getUTCDay(),
    msOfDay: local - Date.UTC(parts.year!, parts.month! - 1, parts.day!) + instant.getUTCMilliseconds(),
  };
}

/** The instant at which the wall clock in `tz` shows that date and time of day. */
function zonedTime(year: number, month: number, day: number, msOfDay: number, tz: string): Date {
  const wall = Date.UTC(year, month - 1, day) + msOfDay;
  const offsetAt = (instant: number) => {
    const p = localParts(new Date(instant), tz);
    return Date.UTC(p.year, p.month - 1, p.day) + p.msOfDay - instant;
  };
  // The offset at the guess, then again where that lands: right across a DST change too.
  let instant = wall - offsetAt(wall);
  instant = wall - offsetAt(instant);
  return new Date(instant);
}

/** The range of the same length just before `range`, for "change against the previous window". */
export function previousRange(range: TimeRange): TimeRange {
  const length = range.to.getTime() - range.from.getTime();
  return { from: new Date(range.from.getTime() - length), to: range.from };
}

export function lengthMs(range: TimeRange): number {
  return range.to.getTime() - range.from.getTime();
}

/** How a range is echoed in every answer. */
export function describeRange(range: TimeRange): { from: string; to: string } {
  return { from: range.from.toISOString(), to: range.to.toISOString() };
}

export { sqlTime } from '../clock.js';

/** Series buckets, in UTC; weeks start on Monday (DuckDB's date_trunc('week')). */
export type Bucket = 'hour' | 'day' | 'week' | 'month';
export const BUCKETS = ['hour', 'day', 'week', 'month'] as const satisfies readonly Bucket[];

/**
 * The bucket a series over `range` uses unless asked: hours up to 48 h, days up to 400 days,
 * weeks up to 400 weeks, months beyond. No default makes more than 400 points.
 */
export function seriesBucket(range: TimeRange): Bucket {
  const ms = lengthMs(range);
  if (ms <= 48 * 3_600_000) return 'hour';
  if (ms <= 400 * DAY_MS) return 'day';
  return ms <= 400 * 7 * DAY_MS ? 'week' : 'month';
}

/** Most points a series may have when the bucket is asked for (hour over a year would be 8,760). */
const MAX_POINTS = 1_200;
const BUCKET_MS: Record<Bucket, number> = { hour: 3_600_000, day: DAY_MS, week: 7 * DAY_MS, month: 28 * DAY_MS };

/** A UserInputError when `bucket` would cut `range` into more than 1,200 points. */
export function checkBucket(range: TimeRange, bucket: Bucket): void {
  if (lengthMs(range) / BUCKET_MS[bucket] > MAX_POINTS) {
    throw new UserInputError(`bucket "${bucket}" would cut this range into more than ${MAX_POINTS} points; use ${seriesBucket(range)} (the default for this range) or a shorter window.`);
  }
}

/**
 * The number of the bucket (UTC) a time falls in, as SQL. Grouping by this integer is about
 * twice as fast as grouping by date_trunc(...) over millions of rows; times are stored in UTC, so
 * the buckets are the same. Join a grid of bucket starts on `bucketKey(bucket, 'start')`.
 */
export function bucketKey(bucket: Bucket, column: string): string {
  switch (bucket) {
    case 'hour': return `(epoch_us(${column}) // 3600000000)`;
    case 'day': return `(epoch_us(${column}) // 86400000000)`;
    // 1970-01-01 was a Thursday: three days on, the week numbers change on Mondays.
    case 'week': return `((epoch_us(${column}) // 86400000000 + 3) // 7)`;
    default: return `(year(${column}) * 12 + month(${column}))`;
  }
}

/** The start of the bucket that holds `at`, in UTC (weeks start on Mondays, as ISO weeks do). */
export function bucketStart(bucket: Bucket, at: Date): Date {
  const d = new Date(at.getTime());
  if (bucket === 'month') return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (bucket === 'hour') return new Date(day + d.getUTCHours() * 3_600_000);
  if (bucket === 'day') return new Date(day);
  return new Date(day - ((d.getUTCDay() + 6) % 7) * DAY_MS);
}

/** The starts of every bucket a range touches, oldest first: a series has a point for each, empty or not. */
export function bucketStarts(range: TimeRange, bucket: Bucket): Date[] {
  const starts: Date[] = [];
  for (let at = bucketStart(bucket, range.from); at < range.to; ) {
    starts.push(at);
    at = bucket === 'month'
      ? new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1))
      : new Date(at.getTime() + (bucket === 'hour' ? 3_600_000 : bucket === 'day' ? DAY_MS : 7 * DAY_MS));
  }
  return starts;
}
