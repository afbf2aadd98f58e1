/**
 * The MCP semantic conventions' operation metrics (`mcp.server.operation.duration`,
 * `mcp.client.operation.duration`: histograms in seconds, by `mcp.method.name` and
 * `gen_ai.tool.name`, with `error.type` on failures) as per-minute tool-call counts. A fleet
 * that sends only metrics still gets usage and latency answers, marked as coming from metrics.
 * Everything else in a metrics export is counted as ignored.
 */

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type KeyValue = { key?: string; value?: AnyValue };

interface HistogramPoint {
  attributes?: KeyValue[];
  startTimeUnixNano?: string | number;
  timeUnixNano?: string | number;
  count?: string | number;
  sum?: number;
}

export interface ExportMetricsServiceRequest {
  resourceMetrics?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeMetrics?: Array<{ metrics?: Array<{ name?: string; unit?: string; histogram?: { dataPoints?: HistogramPoint[]; aggregationTemporality?: number | string }; [kind: string]: unknown }> }>;
  }>;
}

/** One histogram data point of tool calls, as sent: cumulative ones are turned into deltas by the store (its last value per series). */
export interface ToolCallPoint {
  /** Identifies the series across exports: the metric, the resource and the point's attributes. */
  series: string;
  cumulative: boolean;
  start_ns: string;
  /** The point's own time (its timeUnixNano), which orders a series' points. */
  time_ns: string;
  minute: string;
  side: 'server' | 'client';
  server: string | null;
  tool: string;
  failed: boolean;
  count: number;
  /** Sum of durations, in milliseconds. */
  sum_ms: number;
}

export const MCP_OPERATION_METRICS = { 'mcp.server.operation.duration': 'server', 'mcp.client.operation.duration': 'client' } as const;
const CUMULATIVE = 2;

const attrs = (list: KeyValue[] | undefined): Record<string, string> =>
  Object.fromEntries(
    (Array.isArray(list) ? list : [])
      .filter((kv) => kv && typeof kv.key === 'string')
      .map((kv) => [kv.key!, String(kv.value?.stringValue ?? kv.value?.intValue ?? kv.value?.doubleValue ?? kv.value?.boolValue ?? '')]),
  );

/** The tool-call points of an export, and how many data points it held in all. */
export function toolCallPoints(request: ExportMetricsServiceRequest): { points: ToolCallPoint[]; dataPoints: number } {
  const points: ToolCallPoint[] = [];
  let dataPoints = 0;
  for (const rm of Array.isArray(request.resourceMetrics) ? request.resourceMetrics : []) {
    const resource = attrs(rm?.resource?.attributes);
    for (const sm of Array.isArray(rm?.scopeMetrics) ? rm.scopeMetrics : []) {
      for (const metric of Array.isArray(sm?.metrics) ? sm.metrics : []) {
        for (const kind of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) {
          const data = (metric as Record<string, { dataPoints?: unknown[] } | undefined>)[kind];
          dataPoints += Array.isArray(data?.dataPoints) ? data.dataPoints.length : 0;
        }
        const side = MCP_OPERATION_METRICS[metric?.name as keyof typeof MCP_OPERATION_METRICS];
        if (!side || !metric.histogram || !Array.isArray(metric.histogram.dataPoints)) continue;
        const temporality = metric.histogram.aggregationTemporality;
        const cumulative = Number(temporality) === CUMULATIVE || temporality === 'AGGREGATION_TEMPORALITY_CUMULATIVE';
        const toSeconds = metric.unit === 'ms' ? 1 : 1000;
        for (const point of metric.histogram.dataPoints) {
          const a = attrs(point?.attributes);
          const tool = a['gen_ai.tool.name'];
          if (a['mcp.method.name'] !== 'tools/call' || !tool) continue;
          const time = nanosToDate(point.timeUnixNano);
          const count = Number(point.count ?? 0);
          const sum = Number(point.sum ?? 0);
          // The export is untrusted input: a point no store could count costs only itself.
          if (!time || !Number.isFinite(count) || count < 0) continue;
          time.setUTCSeconds(0, 0);
          points.push({
            series: JSON.stringify([metric.name, resource, a]),
            cumulative,
            start_ns: String(point.startTimeUnixNano ?? '0'),
            time_ns: String(BigInt(String(point.timeUnixNano))),
            minute: time.toISOString(),
            side,
            server: a['mcp.server.name'] || (side === 'server' ? resource['service.name'] || null : null),
            tool,
            failed: Boolean(a['error.type']),
            count,
            sum_ms: Number.isFinite(sum) ? sum * toSeconds : 0,
          });
        }
      }
    }
  }
  return { points, dataPoints };
}

const LAST_TIME_MS = Date.UTC(2300, 0, 1);

function nanosToDate(value: string | number | undefined): Date | undefined {
  try {
    const ms = Number(BigInt(String(value ?? '')) / 1_000_000n);
    // Up to the end of 2299, the last time both stores keep.
    return ms > 0 && ms < LAST_TIME_MS ? new Date(ms) : undefined;
  } catch {
    return undefined;
  }
}
