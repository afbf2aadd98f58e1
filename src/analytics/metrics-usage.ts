import type { Filters } from './filters.js';
import { round } from './usage.js';

/** Tool calls known only from OTLP metrics: counts and mean durations, no users, no payloads. */
export interface MetricsUsage {
  calls: number;
  failures: number;
  tools: Array<{ tool: string; server: string | null; side: string; calls: number; failures: number; mean_duration_ms: number | null }>;
}

/**
 * The filters metrics can answer (tool and server), or null when another is given: metrics carry
 * no user, team, client or environment, and a figure that ignored the filter would be wrong.
 */
export function metricsScope(filters: Filters): { tool?: string; server?: string } | null {
  const { tool, server, ...others } = filters;
  if (Object.values(others).some((v) => v !== undefined)) return null;
  return { ...(tool ? { tool } : {}), ...(server ? { server } : {}) };
}

/** Per tool, server and side, what the points of a window add up to. */
export interface MetricsRow {
  tool: string;
  server: string | null;
  side: string;
  calls: number;
  failures: number;
  duration_ms: number;
}

/**
 * The answer from the window's sums: where a tool is measured on both sides, the server's figures
 * are used, so one call is not counted twice. Null when the metrics say nothing.
 */
export function metricsAnswer(rows: readonly MetricsRow[], limit = 20): MetricsUsage | null {
  const measuredByServer = new Set(rows.filter((r) => r.side === 'server').map((r) => r.tool));
  const kept = rows
    .filter((r) => r.calls > 0 && (r.side === 'server' || !measuredByServer.has(r.tool)))
    .sort((a, b) => b.calls - a.calls || (a.tool < b.tool ? -1 : a.tool > b.tool ? 1 : 0));
  if (kept.length === 0) return null;
  return {
    calls: kept.reduce((a, r) => a + r.calls, 0),
    failures: kept.reduce((a, r) => a + r.failures, 0),
    tools: kept.slice(0, limit).map((r) => ({ tool: r.tool, server: r.server, side: r.side, calls: r.calls, failures: r.failures, mean_duration_ms: round(r.duration_ms / r.calls, 1) })),
  };
}
