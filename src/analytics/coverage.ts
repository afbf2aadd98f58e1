import { formatDistanceStrict } from 'date-fns';
import type { AnalyticsBackend } from './backend.js';
import type { TimeRange } from './time-range.js';

/** What the store holds in all, and how current it is. */
export interface StoreExtent {
  executions: number;
  /** Starts of the oldest and the newest execution stored; null when the store is empty. */
  oldest_started_at: string | null;
  newest_started_at: string | null;
  /** When the last execution was stored (wall clock): a feed that went quiet stops moving it. */
  last_ingested_at: string | null;
  /** Lines held in quarantine (mcp-blackbox quarantine lists them with their reasons). */
  quarantined_lines: number;
}

/** The extent and whether a range has any execution (before any filter) in it. */
export interface Coverage extends StoreExtent {
  in_range: boolean;
}

/**
 * What an empty answer over `range` should say about the store, or undefined when the range
 * holds executions (the emptiness is then real, or the filters'). Facts only: the caller adds
 * how to look elsewhere (from/to for an agent, --now for the command line).
 */
export function describeCoverage(coverage: Coverage, range: TimeRange): string | undefined {
  if (coverage.in_range) return undefined;
  const { oldest_started_at: oldest, newest_started_at: newest } = coverage;
  if (coverage.executions === 0 || !oldest || !newest) return 'The store holds no executions yet: nothing has been ingested.';
  const where =
    new Date(newest) < range.from
      ? `The newest started ${formatDistanceStrict(new Date(newest), range.to)} before this window's end: if logs should still be arriving, their feed has stopped.`
      : new Date(oldest) >= range.to
        ? 'This window ends before the oldest.'
        : 'This window falls in a gap between them.';
  const count = `${coverage.executions.toLocaleString('en-US')} execution${coverage.executions === 1 ? '' : 's'}`;
  return `No execution at all started in this window. The store holds ${count}, from ${oldest} to ${newest}. ${where}`;
}

/**
 * Why a change against `previous` would mislead, or null when it would not: the previous window
 * reaches before the oldest data (so it is partly empty because nothing was recorded yet), or it
 * holds no data at all while the store has some (a gap). "+116.9%" against a window that was
 * mostly empty is wrong, not just imprecise: then no percentage is given, only this.
 */
export async function previousWindowCaveat(backend: Pick<AnalyticsBackend, 'coverage'>, previous: TimeRange): Promise<string | null> {
  const coverage = await backend.coverage(previous);
  if (coverage.executions === 0 || !coverage.oldest_started_at) return null;
  const span = `${previous.from.toISOString()} to ${previous.to.toISOString()}`;
  if (new Date(coverage.oldest_started_at) > previous.from) {
    return `The previous window (${span}) starts before the oldest data (${coverage.oldest_started_at}), so it is partly empty: no change is given against it.`;
  }
  if (!coverage.in_range) {
    return `The previous window (${span}) holds no data at all (a gap in the store's data): no change is given against it.`;
  }
  return null;
}
