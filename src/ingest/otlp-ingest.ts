import { blockFromRecords } from './lines.js';
import { toolCallPoints, type ExportMetricsServiceRequest } from './otlp-metrics.js';
import { lateSteps, mapTraces, requestSpans, toolCallExecutionId, type ExportTraceServiceRequest, type OtlpSpan } from './otlp.js';
import type { OrphanGroup, OtlpStore } from './otlp-store.js';

/** An OTLP export request that is not shaped like one (the transports turn it into a 400 or INVALID_ARGUMENT). */
export class OtlpShapeError extends Error {}

/** What an export answers: nothing on full success, else how many items were rejected and why. */
export interface OtlpOutcome {
  partialSuccess?: { rejectedSpans?: number; rejectedDataPoints?: number; rejectedLogRecords?: number; errorMessage: string };
}

/**
 * OTLP traces into the store, whatever the transport (HTTP JSON, HTTP protobuf, gRPC): the one
 * entry that maps spans to execution records and ingests them.
 */
export async function ingestOtlpTraces(store: OtlpStore, payload: unknown, source: string): Promise<OtlpOutcome> {
  const request = payload as ExportTraceServiceRequest;
  if (!request || typeof request !== 'object' || (request.resourceSpans !== undefined && !Array.isArray(request.resourceSpans))) {
    throw new OtlpShapeError('Expected an OTLP ExportTraceServiceRequest: {"resourceSpans": [...]}.');
  }
  // Children exported before their tool call waited in the store: they join it now.
  const spanKeys = requestSpans(request)
    .filter((s) => typeof s.traceId === 'string' && typeof s.spanId === 'string')
    .map((s) => ({ traceId: s.traceId!, spanId: s.spanId! }));
  const held = await store.heldChildren(spanKeys);
  const mapped = mapTraces(request, held.map((h) => h.span as OtlpSpan));
  let quarantined: Array<{ lineNo: number; reason: string }> = [];
  if (mapped.records.length > 0) quarantined = (await store.ingestRecords(blockFromRecords(mapped.records), source)).rejected;
  await store.placeSpans(mapped.toolCalls, orphanGroups(mapped));
  const rejectedSpans = mapped.rejected.length + quarantined.length;
  if (rejectedSpans === 0) return {};
  const reasons = [...mapped.rejected.map((r) => `${r.span}: ${r.reason}`), ...quarantined.map((q) => `span #${q.lineNo}: ${q.reason}`)];
  return { partialSuccess: { rejectedSpans, errorMessage: reasons.slice(0, 20).join('; ') } };
}

/**
 * The spans whose parent was not in the request, grouped by parent, each both as held spans and
 * as late steps: the store picks per group, in the transaction, by whether the parent is stored.
 */
function orphanGroups(mapped: ReturnType<typeof mapTraces>): OrphanGroup[] {
  const byParent = new Map<string, OtlpSpan[]>();
  for (const span of mapped.orphans) {
    if (typeof span.traceId !== 'string' || typeof span.spanId !== 'string') continue;
    const key = toolCallExecutionId(span.traceId, String(span.parentSpanId));
    byParent.set(key, [...(byParent.get(key) ?? []), span]);
  }
  return [...byParent].map(([executionId, spans]) => ({
    executionId,
    held: spans.map((span) => ({ trace_id: span.traceId!, parent_span_id: span.parentSpanId!, span_id: span.spanId!, span: span as Record<string, unknown> })),
    late: lateSteps(spans),
  }));
}

/**
 * Logs, and metrics other than the MCP operation durations, are accepted and counted, not stored:
 * an SDK that exports every signal to one endpoint must not see errors. The counts show in /healthz.
 */
export const otlpIgnored = { metric_data_points: 0, log_records: 0 };

/** The MCP operation-duration histograms as per-minute tool-call counts (otlp-metrics.ts); the rest counted as ignored. */
export async function ingestOtlpMetrics(store: OtlpStore, payload: unknown): Promise<OtlpOutcome> {
  const request = payload as ExportMetricsServiceRequest;
  if (!request || typeof request !== 'object' || (request.resourceMetrics !== undefined && !Array.isArray(request.resourceMetrics))) {
    throw new OtlpShapeError('Expected an OTLP ExportMetricsServiceRequest: {"resourceMetrics": [...]}.');
  }
  const { points, dataPoints } = toolCallPoints(request);
  otlpIgnored.metric_data_points += dataPoints - points.length;
  if (points.length > 0) await store.addMetricPoints(points);
  return {};
}

export function acceptOtlpLogs(payload: unknown): OtlpOutcome {
  const request = payload as { resourceLogs?: Array<{ scopeLogs?: Array<{ logRecords?: unknown[] }> }> };
  if (!request || typeof request !== 'object' || (request.resourceLogs !== undefined && !Array.isArray(request.resourceLogs))) {
    throw new OtlpShapeError('Expected an OTLP ExportLogsServiceRequest: {"resourceLogs": [...]}.');
  }
  for (const resource of request.resourceLogs ?? []) {
    for (const scope of resource.scopeLogs ?? []) otlpIgnored.log_records += scope.logRecords?.length ?? 0;
  }
  return {};
}
