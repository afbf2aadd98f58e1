import { ROLLUP_DIMENSIONS } from '../../store/rollup.js';
import { hourOf } from '../../store/clickhouse/hour.js';
import type { Filters } from '../filters.js';
import type { TimeRange } from '../time-range.js';
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

/**
 * The executions of some spans counted per hour and dimensions, as a SQL source with the columns
 * flag, hour, the nine dimensions, n (executions), s_tasks, s_cost, n_no_cost, n_defaulted,
 * first_at and last_at. The whole hours the rollup holds up to date (store/clickhouse/rollup.ts)
 * come from it; every other hour (partial hours at the ends, hours marked since their last
 * recount, hours never counted) is counted from executions FINAL, so the answer is exact
 * whatever the rollup's state. One query first learns which hours are up to date.
 */
export async function usageSource(q: ChQuery, spans: readonly UsageSpan[], filters: Filters): Promise<string> {
  const current = await currentHours(q, spans);
  const parts: string[] = [];
  for (const { range, flag = '' } of spans) {
    const from = range.from.getTime();
    const to = range.to.getTime();
    const rolled: number[] = [];
    const raw: Array<[number, number]> = [];
    const addRaw = (a: number, b: number) => {
      if (a >= b) return;
      const last = raw.at(-1);
      if (last && last[1] === a) last[1] = b;
      else raw.push([a, b]);
    };
    let cursor = from;
    for (const hour of current) {
      if (hour < from || hour + HOUR_MS > to) continue;
      addRaw(cursor, hour);
      rolled.push(hour);
      cursor = hour + HOUR_MS;
    }
    addRaw(cursor, to);
    const tag = q.value(flag, 'String');
    const and = q.filters(filters);
    if (rolled.length) {
      const hours = q.value(rolled.map(sqlHour), "Array(DateTime64(6, 'UTC'))");
      parts.push(
        `SELECT ${tag} AS flag, hour, ${DIMS}, ${MEASURES} FROM ${q.ch.t('hourly_usage')}
         WHERE hour IN ${hours}
           AND (hour, generation) IN (SELECT hour, argMax(generation, computed_at) FROM ${q.ch.t('rollup_hours')} WHERE hour IN ${hours} GROUP BY hour)${and}`,
      );
    }
    if (raw.length) {
      const within = raw.map(([a, b]) => `(started_at >= ${q.time(new Date(a))} AND started_at < ${q.time(new Date(b))})`).join(' OR ');
      parts.push(
        `SELECT ${tag} AS flag, ${hourOf('started_at')} AS hour, ${DIMS}, ${COUNTED}
         FROM ${q.ch.t('executions')} FINAL WHERE (${within})${and}
         GROUP BY hour, ${DIMS}`,
      );
    }
  }
  if (!parts.length) return `(SELECT '' AS flag, hour, ${DIMS}, ${MEASURES} FROM ${q.ch.t('hourly_usage')} WHERE 0)`;
  return `(${parts.join(' UNION ALL ')})`;
}

/** The whole hours within the spans whose latest generation is newer than their latest mark, in order. */
async function currentHours(q: ChQuery, spans: readonly UsageSpan[]): Promise<number[]> {
  const from = Math.ceil(Math.min(...spans.map((s) => s.range.from.getTime())) / HOUR_MS) * HOUR_MS;
  const to = Math.floor(Math.max(...spans.map((s) => s.range.to.getTime())) / HOUR_MS) * HOUR_MS;
  if (!(from < to)) return [];
  const own = new ChQuery(q.ch);
  const within = `hour >= ${own.time(new Date(from))} AND hour < ${own.time(new Date(to))}`;
  const rows = await own.all<{ hour_ms: number }>(
    `SELECT toUnixTimestamp64Milli(cp.hour) AS hour_ms
     FROM (SELECT hour, max(computed_at) AS last_computed FROM ${q.ch.t('rollup_hours')} WHERE ${within} GROUP BY hour) AS cp
     LEFT JOIN (SELECT hour, max(marked_at) AS last_marked FROM ${q.ch.t('rollup_marks')} WHERE ${within} GROUP BY hour) AS mk ON mk.hour = cp.hour
     WHERE mk.last_marked IS NULL OR cp.last_computed > mk.last_marked
     ORDER BY hour_ms`,
  );
  return rows.map((r) => Number(r.hour_ms));
}

const sqlHour = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
