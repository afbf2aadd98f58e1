import type { AnalyticsBackend } from './backend.js';
import { byteOrder } from './order.js';
import { describeRange, previousRange, type TimeRange } from './time-range.js';

export interface UnusedTool {
  name: string;
  server: string | null;
  kind: string;
  /** Last execution ever seen, or null: never used. */
  last_used: string | null;
  days_since_last_use: number | null;
  runs_in_previous_window: number;
  listed_in_catalog: boolean;
}

export interface UnusedTools {
  window: { from: string; to: string };
  previous_window: { from: string; to: string };
  catalog_size: number;
  unused_count: number;
  tools: UnusedTool[];
  has_more: boolean;
}

/** A tool of the catalog with its runs in the window and the one before (UnusedQueries). */
export interface CatalogTool {
  name: string;
  /** '' for a tool without a server. */
  server: string;
  kind: string;
  /** The last execution ever seen: its start in microseconds, and as the answers write it. */
  last_seen_us: number | null;
  last_seen: string | null;
  /** Hour boundaries between the last execution and the window's end. */
  hours_since_last_use: number | null;
  in_window: number;
  in_previous: number;
  from_catalog: boolean;
}

export interface UnusedQueries {
  /**
   * Every tool of the catalog (every tool ever seen, plus those a catalog file or a tool list
   * named) first seen before the window's end, of `server` and `kind` when given.
   */
  tools(range: TimeRange, previous: TimeRange, only: { server?: string; kind?: string }): Promise<CatalogTool[]>;
}

/**
 * Tools in the catalog with no execution in the window. Tools first seen after the window are
 * not counted as unused in it.
 */
export async function unusedTools(
  backend: AnalyticsBackend,
  args: { range: TimeRange; server?: string; kind?: string; limit: number },
): Promise<UnusedTools> {
  const previous = previousRange(args.range);
  const catalog = await backend.unused.tools(args.range, previous, { server: args.server, kind: args.kind });
  // Never used first, then the longest unused; ties by name and server.
  const unused = catalog
    .filter((t) => t.in_window === 0)
    .sort((a, b) =>
      a.last_seen_us === b.last_seen_us
        ? byteOrder(a.name, b.name) || byteOrder(a.server, b.server)
        : a.last_seen_us === null ? -1 : b.last_seen_us === null ? 1 : a.last_seen_us - b.last_seen_us,
    );
  return {
    window: describeRange(args.range),
    previous_window: describeRange(previous),
    catalog_size: catalog.length,
    unused_count: unused.length,
    tools: unused.slice(0, args.limit).map((t) => ({
      name: t.name,
      server: t.server === '' ? null : t.server,
      kind: t.kind,
      last_used: t.last_seen,
      days_since_last_use: t.hours_since_last_use === null ? null : Math.floor(t.hours_since_last_use / 24),
      runs_in_previous_window: t.in_previous,
      listed_in_catalog: t.from_catalog,
    })),
    has_more: unused.length > args.limit,
  };
}
