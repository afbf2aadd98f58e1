/** Tool calls known only from OTLP metrics: counts and mean durations, no users, no payloads. */
export interface MetricsUsage {
  calls: number;
  failures: number;
  tools: Array<{ tool: string; server: string | null; side: string; calls: number; failures: number; mean_duration_ms: number | null }>;
}

