import { formatDistanceStrict } from 'date-fns';
import type { Db } from '../store/store.js';
import { sqlTime, type TimeRange } from './time-range.js';

/** What the store holds in all, and whether a range has any of it. */
export interface Coverage {
  executions: number;
  /** Start of the oldest and the newest execution stored, or null when the store is empty. */
  first: string | null;
  last: string | null;
  /** Whether any execution (before any filter) started inside the range. */
  in_range: boolean;
}

/**
 * The store's extent, for explaining an empty answer: "no executions" over a window the data
 * does not reach (a stopped log feed, a pinned clock, a typo in a date) must not read as an idle
 * fleet. Cheap at any size: DuckDB answers the count and the extremes from table statistics, and
 * the range check reads only the row groups whose zone maps overlap it (~2 ms at 10M).
 */
export async function storeCoverage(db: Db, range: TimeRange): Promise<Coverage> {
  const row = await db.one<{ executions: number; first: string | null; last: string | null; in_range: boolean }>(
    `SELECT count(*)::DOUBLE AS executions, iso(min(started_at)) AS first, iso(max(started_at)) AS last,
            EXISTS (SELECT 1 FROM executions WHERE started_at >= CAST($from AS TIMESTAMP) AND started_at < CAST($to AS TIMESTAMP)) AS in_range
     FROM executions`,
    { from: sqlTime(range.from), to: sqlTime(range.to) },
  );
  return { executions: row?.executions ?? 0, first: row?.first ?? null, last: row?.last ?? null, in_range: row?.in_range ?? false };
}

/**
 * What an empty answer over `range` should say about the store, or undefined when the range
 * holds executions (the emptiness is then real, or the filters'). Facts only: the caller adds
 * how to look elsewhere (from/to for an agent, --now for the command line).
 */
export function describeCoverage(coverage: Coverage, range: TimeRange): string | undefined {
  if (coverage.in_range) return undefined;
  if (coverage.executions === 0 || !coverage.first || !coverage.last) return 'The store holds no executions yet: nothing has been ingested.';
  const first = new Date(coverage.first);
  const last = new Date(coverage.last);
  const where =
    last < range.from
      ? `The newest started ${formatDistanceStrict(last, range.to)} before this window's end: if logs should still be arriving, their feed has stopped.`
      : first >= range.to
        ? 'This window ends before the oldest.'
        : 'This window falls in a gap between them.';
  const count = `${coverage.executions.toLocaleString('en-US')} execution${coverage.executions === 1 ? '' : 's'}`;
  return `No execution at all started in this window. The store holds ${count}, from ${coverage.first} to ${coverage.last}. ${where}`;
}

/** How current the store is, for health checks that alert on a log feed that went quiet. */
export interface Freshness {
  executions: number;
  /** The newest execution's start, and when the last execution was stored (wall clock). */
  newest_started_at: string | null;
  last_ingested_at: string | null;
}

/** From table statistics, so a health check can poll it (~2 ms at 10M). */
export async function storeFreshness(db: Db): Promise<Freshness> {
  const row = await db.one<Freshness>(
    'SELECT count(*)::DOUBLE AS executions, iso(max(started_at)) AS newest_started_at, iso(max(ingested_at)) AS last_ingested_at FROM executions',
  );
  return { executions: row?.executions ?? 0, newest_started_at: row?.newest_started_at ?? null, last_ingested_at: row?.last_ingested_at ?? null };
}
