import type { Db } from '../../store/store.js';
import type { Coverage, StoreExtent } from '../coverage.js';
import { sqlTime, type TimeRange } from '../time-range.js';

// DuckDB answers the count and the extremes from table statistics, so a health check can poll it
// and an empty answer can afford it.
const EXTENT_COLUMNS = `count(*)::DOUBLE AS executions, iso(min(started_at)) AS oldest_started_at,
  iso(max(started_at)) AS newest_started_at, iso(max(ingested_at)) AS last_ingested_at,
  (SELECT count(*) FROM quarantine)::DOUBLE AS quarantined_lines`;

export async function storeExtent(db: Db): Promise<StoreExtent> {
  return extentOf(await db.one<StoreExtent>(`SELECT ${EXTENT_COLUMNS} FROM executions`));
}

/**
 * The store's extent, for explaining an empty answer: "no executions" over a window the data
 * does not reach (a stopped log feed, a pinned clock, a typo in a date) must not read as an idle
 * fleet. The range check reads only the row groups whose zone maps overlap the range.
 */
export async function storeCoverage(db: Db, range: TimeRange): Promise<Coverage> {
  const row = await db.one<Coverage>(
    `SELECT ${EXTENT_COLUMNS},
            EXISTS (SELECT 1 FROM executions WHERE started_at >= CAST($from AS TIMESTAMP) AND started_at < CAST($to AS TIMESTAMP)) AS in_range
     FROM executions`,
    { from: sqlTime(range.from), to: sqlTime(range.to) },
  );
  return { ...extentOf(row), in_range: row?.in_range ?? false };
}

function extentOf(row: StoreExtent | undefined): StoreExtent {
  return {
    executions: row?.executions ?? 0,
    oldest_started_at: row?.oldest_started_at ?? null,
    newest_started_at: row?.newest_started_at ?? null,
    last_ingested_at: row?.last_ingested_at ?? null,
    quarantined_lines: row?.quarantined_lines ?? 0,
  };
}

