import { sqlTime } from '../clock.js';
import type { ToolCallPoint } from '../ingest/otlp-metrics.js';
import type { Db, Store } from './store.js';

/** A tool-call count from metrics, per minute: the point as ingest/otlp-metrics.ts reads it. */
export type MetricPoint = ToolCallPoint;

/**
 * Adds tool-call counts to their minutes. A cumulative point (the default temporality of most
 * SDKs) counts since its series started: what is added is the difference from the last point of
 * the same series, or all of it when the series restarted (a new start time, or a smaller count).
 * Returns how many calls were added.
 */
export async function addMetricPoints(db: Db, points: readonly MetricPoint[], now: Date): Promise<number> {
  let added = 0;
  const stamp = sqlTime(now);
  for (const p of points) {
    let count = p.count;
    let sum = p.sum_ms;
    if (p.cumulative) {
      const last = await db.one<{ start_ns: string; count: number; sum_ms: number }>('SELECT start_ns, count::DOUBLE AS count, sum_ms FROM mcp_metric_series WHERE series = $series', { series: p.series });
      if (last && last.start_ns === p.start_ns && p.count >= last.count) {
        count = p.count - last.count;
        sum = p.sum_ms - last.sum_ms;
      }
      await db.run(
        `INSERT INTO mcp_metric_series VALUES ($series, $start, $count, $sum, CAST($now AS TIMESTAMP))
         ON CONFLICT (series) DO UPDATE SET start_ns = excluded.start_ns, count = excluded.count, sum_ms = excluded.sum_ms, updated_at = excluded.updated_at`,
        { series: p.series, start: p.start_ns, count: p.count, sum: p.sum_ms, now: stamp },
      );
    }
    if (count <= 0) continue;
    await db.run(
      `INSERT INTO mcp_metric_minutes VALUES (CAST($minute AS TIMESTAMP), $side, $server, $tool, $failed, $count, $sum)`,
      { minute: sqlTime(p.minute), side: p.side, server: p.server, tool: p.tool, failed: p.failed, count, sum },
    );
    added += count;
  }
  // A series that has not reported for a week belongs to a process that is gone: its last point
  // is no longer needed to count the next one.
  await db.run(`DELETE FROM mcp_metric_series WHERE updated_at < CAST($now AS TIMESTAMP) - INTERVAL 7 DAY`, { now: stamp });
  return added;
}

/** Metric points (ingest/otlp-metrics.ts made them from OTLP histograms), stored in one write. */
export function storeMetricPoints(store: Store, points: readonly MetricPoint[]): Promise<number> {
  return store.write((db) => addMetricPoints(db, points, store.clock.now()));
}
