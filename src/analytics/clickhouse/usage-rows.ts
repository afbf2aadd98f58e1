import { ROLLUP_DIMENSIONS } from '../../store/rollup.js';
import { hourOf } from '../../store/clickhouse/hour.js';
import { ROLLUP_LEVELS, type RollupLevel } from '../../store/clickhouse/rollup.js';
import type { Filters } from '../filters.js';
import type { TimeRange } from '../time-range.js';
import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import { ChQuery } from './sql.js';

const DIMS = ROLLUP_DIMENSIONS.join(', ');
/** The measures of a usage row; sum them, never count rows (several rows can share an hour and dimensions). */
const MEASURES = 'n, s_tasks, s_cost, n_no_cost, n_defaulted, first_at, last_at';
const COUNTED = `count() AS n, sum(tasks) AS s_tasks, sum(cost_usd) AS s_cost, countIf(cost_usd IS NULL) AS n_no_cost,
  countIf(NOT tasks_given) AS n_defaulted, min(started_at) AS first_at, max(started_at) AS last_at`;

/** A span of a usage source; `flag` (a short word) tells the spans apart in the rows. */
export interface UsageSpan {
  range: TimeRange;
  flag?: string;
}

/** A current unit (hour or day) of the rollup: its generation and that generation's totals. */
export interface RolledUnit {
  start: number;
  generation: string;
  n: number;
  first_us: number | null;
  last_us: number | null;
}

/** How a span is read: the rollup's current days and hours inside it, and the intervals left to executions. */
export interface SpanPlan {
  flag: string;
  days: RolledUnit[];
  hours: RolledUnit[];
  raw: Array<[number, number]>;
}

/**
 * The finest unit an answer groups by: `hour` where rows are bucketed by hour, `day` otherwise
 * (a day's row then stands for its 24 hours).
 */
export type Granularity = RollupLevel;

/**
 * Splits each span into the whole days and hours the rollup holds up to date
 * (store/clickhouse/rollup.ts) and the intervals left (partial hours at the ends, units marked
 * since their last recount, units never counted), read from executions FINAL, so an answer is
 * exact whatever the rollup's state. One query per level learns which units are up to date.
 */
export async function planUsage(ch: ClickHouseDb, spans: readonly UsageSpan[], granularity: Granularity): Promise<SpanPlan[]> {
  if (!spans.length) return [];
  const [days, hours] = await Promise.all([granularity === 'day' ? currentUnits(ch, 'day') : [], currentUnits(ch, 'hour')]);
  return spans.map(({ range, flag = '' }) => {
    const byDay = carve([[range.from.getTime(), range.to.getTime()]], days, ROLLUP_LEVELS.day.ms);
    const byHour = carve(byDay.rest, hours, ROLLUP_LEVELS.hour.ms);
    return { flag, days: byDay.taken, hours: byHour.taken, raw: byHour.rest };
  });
}

/** The units (sorted) that lie whole inside the intervals (sorted, disjoint), and what is left of the intervals. */
function carve(intervals: ReadonlyArray<[number, number]>, units: readonly RolledUnit[], ms: number): { taken: RolledUnit[]; rest: Array<[number, number]> } {
  const taken: RolledUnit[] = [];
  const rest: Array<[number, number]> = [];
  const keep = (a: number, b: number) => {
    if (a >= b) return;
    const last = rest.at(-1);
    if (last && last[1] === a) last[1] = b;
    else rest.push([a, b]);
  };
  let i = 0;
  for (const [from, to] of intervals) {
    while (i < units.length && units[i]!.start < from) i++;
    let cursor = from;
    for (let j = i; j < units.length && units[j]!.start + ms <= to; j++) {
      keep(cursor, units[j]!.start);
      taken.push(units[j]!);
      cursor = units[j]!.start + ms;
    }
    keep(cursor, to);
  }
  return { taken, rest };
}

/** started_at within any of the intervals. */
export function withinIntervals(q: ChQuery, intervals: ReadonlyArray<[number, number]>): string {
  return intervals.map(([a, b]) => `(started_at >= ${q.time(new Date(a))} AND started_at < ${q.time(new Date(b))})`).join(' OR ');
}

/**
 * The executions of some spans counted per unit and dimensions, as a SQL source with the columns
 * flag, hour (the unit's start: an hour, or a day's first hour when `granularity` is day), the
 * nine dimensions, n (executions), s_tasks, s_cost, n_no_cost, n_defaulted, first_at and
 * last_at: the rollup's current units from it, the rest from executions (planUsage).
 */
export async function usageSource(q: ChQuery, spans: readonly UsageSpan[], filters: Filters, granularity: Granularity): Promise<string> {
  const parts: string[] = [];
  const rolled = (level: RollupLevel, units: RolledUnit[], tag: string, and: string) => {
    if (!units.length) return;
    const { rows, column } = ROLLUP_LEVELS[level];
    // Each unit's generation id is its own (store/clickhouse/rollup.ts): the list names the rows.
    parts.push(
      `SELECT ${tag} AS flag, ${column === 'hour' ? 'hour' : `${column} AS hour`}, ${DIMS}, ${MEASURES} FROM ${q.ch.t(rows)}
       WHERE ${column} >= ${q.time(new Date(units[0]!.start))} AND ${column} <= ${q.time(new Date(units.at(-1)!.start))}
         AND generation IN ${q.value(units.map((u) => u.generation), 'Array(UUID)')}${and}`,
    );
  };
  for (const { flag, days, hours, raw } of await planUsage(q.ch, spans, granularity)) {
    const tag = q.value(flag, 'String');
    const and = q.filters(filters);
    rolled('day', days, tag, and);
    rolled('hour', hours, tag, and);
    if (raw.length) {
      parts.push(
        `SELECT ${tag} AS flag, ${hourOf('started_at')} AS hour, ${DIMS}, ${COUNTED}
         FROM ${q.ch.t('executions')} FINAL WHERE (${withinIntervals(q, raw)})${and}
         GROUP BY hour, ${DIMS}`,
      );
    }
  }
  if (!parts.length) return `(SELECT '' AS flag, hour, ${DIMS}, ${MEASURES} FROM ${q.ch.t('hourly_usage')} WHERE 0)`;
  return `(${parts.join(' UNION ALL ')})`;
}

/**
 * The units of a level whose latest generation is newer than their latest mark, in order. Calls
 * made while one is on its way share it (the questions of one tool call run at once): its answer
 * is as fresh as one asked when they were, since it had not arrived yet.
 */
function currentUnits(ch: ClickHouseDb, level: RollupLevel): Promise<RolledUnit[]> {
  const pending = inFlight.get(ch) ?? new Map<RollupLevel, Promise<RolledUnit[]>>();
  inFlight.set(ch, pending);
  let read = pending.get(level);
  if (!read) {
    read = readCurrentUnits(ch, level).finally(() => pending.delete(level));
    pending.set(level, read);
  }
  return read;
}

const inFlight = new WeakMap<ClickHouseDb, Map<RollupLevel, Promise<RolledUnit[]>>>();

async function readCurrentUnits(ch: ClickHouseDb, level: RollupLevel): Promise<RolledUnit[]> {
  const { registry, column, startOf } = ROLLUP_LEVELS[level];
  const rows = await ch.all<{ unit_ms: number; latest: string; n_rows: number; first_us: number | null; last_us: number | null }>(
    `SELECT toUnixTimestamp64Milli(cp.unit) AS unit_ms, toString(cp.latest.1) AS latest, cp.latest.2 AS n_rows,
            toUnixTimestamp64Micro(cp.latest.3) AS first_us, toUnixTimestamp64Micro(cp.latest.4) AS last_us
     -- One tuple: argMax of a Nullable column alone would skip the latest generation's NULL (a
     -- unit left empty) and return an older generation's time.
     FROM (SELECT ${column} AS unit, max(computed_at) AS last_computed, argMax((generation, n, first_at, last_at), computed_at) AS latest
           FROM ${ch.t(registry)} GROUP BY unit) AS cp
     LEFT JOIN (SELECT ${startOf('hour')} AS unit, max(marked_at) AS last_marked FROM ${ch.t('rollup_marks')} GROUP BY unit) AS mk ON mk.unit = cp.unit
     WHERE mk.last_marked IS NULL OR cp.last_computed > mk.last_marked
     ORDER BY unit_ms`,
  );
  return rows.map((r) => ({ start: Number(r.unit_ms), generation: r.latest, n: r.n_rows, first_us: r.first_us, last_us: r.last_us }));
}
