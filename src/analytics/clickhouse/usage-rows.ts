import { ROLLUP_DIMENSIONS } from '../../store/rollup.js';
import { hourOf } from '../../store/clickhouse/hour.js';
import type { Filters } from '../filters.js';
import type { TimeRange } from '../time-range.js';
import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import { ChQuery } from './sql.js';

const HOUR_MS = 3_600_000;
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

/** A current hour of the rollup: its generation and that generation's totals. */
export interface RolledHour {
  hour: number;
  generation: string;
  n: number;
  first_us: number | null;
  last_us: number | null;
}

/** How a span is read: the rollup's current hours inside it, and the intervals left to executions. */
export interface SpanPlan {
  flag: string;
  rolled: RolledHour[];
  raw: Array<[number, number]>;
}

/**
 * Splits each span into the whole hours the rollup holds up to date (store/clickhouse/rollup.ts)
 * and the intervals left (partial hours at the ends, hours marked since their last recount, hours
 * never counted), read from executions FINAL, so an answer is exact whatever the rollup's state.
 * One query learns which hours are up to date.
 */
export async function planUsage(ch: ClickHouseDb, spans: readonly UsageSpan[]): Promise<SpanPlan[]> {
  const current = spans.length ? await currentHours(ch) : [];
  return spans.map(({ range, flag = '' }) => {
    const from = range.from.getTime();
    const to = range.to.getTime();
    const rolled: RolledHour[] = [];
    const raw: Array<[number, number]> = [];
    const addRaw = (a: number, b: number) => {
      if (a >= b) return;
      const last = raw.at(-1);
      if (last && last[1] === a) last[1] = b;
      else raw.push([a, b]);
    };
    let cursor = from;
    for (const hour of current) {
      if (hour.hour < from || hour.hour + HOUR_MS > to) continue;
      addRaw(cursor, hour.hour);
      rolled.push(hour);
      cursor = hour.hour + HOUR_MS;
    }
    addRaw(cursor, to);
    return { flag, rolled, raw };
  });
}

/** started_at within any of the intervals. */
export function withinIntervals(q: ChQuery, intervals: ReadonlyArray<[number, number]>): string {
  return intervals.map(([a, b]) => `(started_at >= ${q.time(new Date(a))} AND started_at < ${q.time(new Date(b))})`).join(' OR ');
}

/**
 * The executions of some spans counted per hour and dimensions, as a SQL source with the columns
 * flag, hour, the nine dimensions, n (executions), s_tasks, s_cost, n_no_cost, n_defaulted,
 * first_at and last_at: the rollup's current hours from it, the rest from executions (planUsage).
 */
export async function usageSource(q: ChQuery, spans: readonly UsageSpan[], filters: Filters): Promise<string> {
  const parts: string[] = [];
  for (const { flag, rolled, raw } of await planUsage(q.ch, spans)) {
    const tag = q.value(flag, 'String');
    const and = q.filters(filters);
    if (rolled.length) {
      // Each hour's generation id is its own (store/clickhouse/rollup.ts): the list names the rows.
      parts.push(
        `SELECT ${tag} AS flag, hour, ${DIMS}, ${MEASURES} FROM ${q.ch.t('hourly_usage')}
         WHERE hour >= ${q.time(new Date(rolled[0]!.hour))} AND hour <= ${q.time(new Date(rolled.at(-1)!.hour))}
           AND generation IN ${q.value(rolled.map((r) => r.generation), 'Array(UUID)')}${and}`,
      );
    }
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
 * The hours whose latest generation is newer than their latest mark, in order. Calls made while
 * one is on its way share it (the questions of one tool call run at once): its answer is as fresh
 * as one asked when they were, since it had not arrived yet.
 */
function currentHours(ch: ClickHouseDb): Promise<RolledHour[]> {
  let pending = inFlight.get(ch);
  if (!pending) {
    pending = readCurrentHours(ch).finally(() => inFlight.delete(ch));
    inFlight.set(ch, pending);
  }
  return pending;
}

const inFlight = new WeakMap<ClickHouseDb, Promise<RolledHour[]>>();

async function readCurrentHours(ch: ClickHouseDb): Promise<RolledHour[]> {
  const rows = await ch.all<{ hour_ms: number; latest: string; n_rows: number; first_us: number | null; last_us: number | null }>(
    `SELECT toUnixTimestamp64Milli(cp.hour) AS hour_ms, toString(cp.latest.1) AS latest, cp.latest.2 AS n_rows,
            toUnixTimestamp64Micro(cp.latest.3) AS first_us, toUnixTimestamp64Micro(cp.latest.4) AS last_us
     -- One tuple: argMax of a Nullable column alone would skip the latest generation's NULL (an
     -- hour left empty) and return an older generation's time.
     FROM (SELECT hour, max(computed_at) AS last_computed, argMax((generation, n, first_at, last_at), computed_at) AS latest
           FROM ${ch.t('rollup_hours')} GROUP BY hour) AS cp
     LEFT JOIN (SELECT hour, max(marked_at) AS last_marked FROM ${ch.t('rollup_marks')} GROUP BY hour) AS mk ON mk.hour = cp.hour
     WHERE mk.last_marked IS NULL OR cp.last_computed > mk.last_marked
     ORDER BY hour_ms`,
  );
  return rows.map((r) => ({ hour: Number(r.hour_ms), generation: r.latest, n: r.n_rows, first_us: r.first_us, last_us: r.last_us }));
}
