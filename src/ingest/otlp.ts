/**
 * OTLP/HTTP JSON traces (ExportTraceServiceRequest) to execution records of the log format.
 *
 * One tool-call span is one execution; its direct child spans are its steps. A span is a tool
 * call when it follows the OpenTelemetry MCP semantic conventions (`mcp.method.name` =
 * `tools/call`, or a span named `tools/call <tool>`), Sentry's MCP integration (`mcp.tool.name`),
 * or OpenLLMetry's @traceloop/instrumentation-mcp (`traceloop.span.kind` = `tool`, span
 * `<tool>.tool`). Everything else (sessions, list calls, HTTP spans) is ignored, not rejected.
 * The README has the full mapping table.
 */

import { MAX_NESTING_DEPTH } from './format.js';

type AnyValue = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: string;
};
type KeyValue = { key: string; value?: AnyValue };

export interface OtlpSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number | string;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: KeyValue[];
  status?: { code?: number | string; message?: string };
}

export interface ExportTraceServiceRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{ scope?: { name?: string }; spans?: OtlpSpan[] }>;
  }>;
}

export interface MappedTraces {
  records: Array<Record<string, unknown>>;
  /** The tool-call spans that became records: their held children are their steps now. */
  toolCalls: Array<{ traceId: string; spanId: string }>;
  /** Spans that are no tool call and whose parent is not in the request: maybe steps of a tool call exported apart. */
  orphans: OtlpSpan[];
  /** Tool-call spans that could not become executions, with why. */
  rejected: Array<{ span: string; reason: string }>;
  /** Spans seen in all. */
  spans: number;
}

const SPAN_KIND_CLIENT = 3;
const STATUS_ERROR = 2;

/** A span that cannot be mapped: it is rejected with this reason, and the others go on. */
class UnmappableSpan extends Error {}

const unmappable = (error: unknown): string =>
  error instanceof UnmappableSpan ? error.message : `invalid_value:span (a field has the wrong type: ${error instanceof Error ? error.message : String(error)})`;

function value(v: AnyValue | undefined, depth: number): unknown {
  if (!v || typeof v !== 'object') return undefined;
  // Values nest (arrays, key-value lists); past the payload limit they are refused rather than
  // followed, so a crafted export cannot overflow the stack.
  if (depth > MAX_NESTING_DEPTH) throw new UnmappableSpan(`too_deep:attributes (nested deeper than ${MAX_NESTING_DEPTH} levels)`);
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return Array.isArray(v.arrayValue.values) ? v.arrayValue.values.map((item) => value(item, depth + 1)) : [];
  if (v.kvlistValue) return attributesOf(v.kvlistValue.values, depth + 1);
  if (v.bytesValue !== undefined) return v.bytesValue;
  return undefined;
}

function attributesOf(list: KeyValue[] | undefined, depth = 1): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(list)) return out;
  for (const kv of list) if (kv && typeof kv.key === 'string') out[kv.key] = value(kv.value, depth);
  return out;
}

/** Nanosecond times as sent (a string or a number); an unparseable one sorts first. */
function nanos(v: string | number | undefined): bigint {
  try {
    return BigInt(String(v ?? 0));
  } catch {
    return 0n;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

/** JSON text attributes (`gen_ai.tool.call.arguments`, `traceloop.entity.input`) back to JSON. */
function jsonish(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function isoFromNanos(nanos: string | number | undefined): string | undefined {
  if (nanos === undefined || nanos === null || nanos === '' || nanos === 0 || nanos === '0') return undefined;
  try {
    const ms = Number(BigInt(String(nanos)) / 1_000_000n);
    const date = new Date(ms);
    return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
  } catch {
    return undefined;
  }
}

export function toolNameOf(span: OtlpSpan, attrs: Record<string, unknown>): string | undefined {
  const method = str(attrs['mcp.method.name']);
  const named =
    str(attrs['gen_ai.tool.name']) ??
    str(attrs['mcp.tool.name']) ??
    (attrs['traceloop.span.kind'] === 'tool' ? str(attrs['traceloop.entity.name']) : undefined);
  if (named) return named;
  const name = span.name ?? '';
  if (name.startsWith('tools/call ')) return name.slice('tools/call '.length).trim() || undefined;
  if (method === 'tools/call') return undefined; // a tool call without a tool name: rejected below
  if (attrs['traceloop.span.kind'] === 'tool' && name.endsWith('.tool')) return name.slice(0, -'.tool'.length);
  return undefined;
}

function isToolCall(span: OtlpSpan, attrs: Record<string, unknown>): boolean {
  return (
    attrs['mcp.method.name'] === 'tools/call' ||
    (span.name ?? '').startsWith('tools/call') ||
    attrs['mcp.tool.name'] !== undefined ||
    attrs['traceloop.span.kind'] === 'tool'
  );
}

function isError(span: OtlpSpan, attrs: Record<string, unknown>): boolean {
  return (
    Number(span.status?.code) === STATUS_ERROR ||
    span.status?.code === 'STATUS_CODE_ERROR' ||
    attrs['error.type'] !== undefined ||
    attrs['mcp.tool.result.is_error'] === true
  );
}

const KNOWN_ATTRIBUTES = new Set([
  'mcp.method.name', 'gen_ai.tool.name', 'mcp.tool.name', 'traceloop.span.kind', 'traceloop.entity.name',
  'traceloop.entity.input', 'traceloop.entity.output', 'gen_ai.tool.call.arguments', 'gen_ai.tool.call.result',
  'mcp.session.id', 'error.type', 'mcp.tool.result.is_error', 'user.id', 'enduser.id', 'user.email',
  'user.name', 'user.team', 'mcp.client.name', 'client.name', 'deployment.environment.name', 'deployment.environment',
]);

/**
 * `held`: spans of earlier requests that waited for their parent (store/otlp-held.ts); they join
 * the children of the request's spans, so a tool call gets the steps that were exported before it.
 */
export function mapTraces(request: ExportTraceServiceRequest, held: readonly OtlpSpan[] = []): MappedTraces {
  const records: Array<Record<string, unknown>> = [];
  const toolCalls: MappedTraces['toolCalls'] = [];
  const rejected: MappedTraces['rejected'] = [];
  let spanCount = 0;
  const spansOf = (rs: NonNullable<ExportTraceServiceRequest['resourceSpans']>[number]) =>
    (Array.isArray(rs?.scopeSpans) ? rs.scopeSpans : []).flatMap((ss) => (Array.isArray(ss?.spans) ? ss.spans : [])).filter((s) => s && typeof s === 'object');
  const everySpan = (request.resourceSpans ?? []).flatMap(spansOf);
  // Parents and children across the whole request (a child may come from another resource), and
  // across requests through the held spans.
  const present = new Set(everySpan.map((s) => `${s.traceId}:${s.spanId}`));
  const children = new Map<string, OtlpSpan[]>();
  for (const span of [...everySpan, ...held]) {
    if (typeof span.parentSpanId === 'string' && span.parentSpanId) {
      const list = children.get(span.parentSpanId) ?? [];
      if (!list.some((s) => s.spanId === span.spanId && s.traceId === span.traceId)) list.push(span);
      children.set(span.parentSpanId, list);
    }
  }
  const orphans = everySpan.filter((s) => typeof s.parentSpanId === 'string' && s.parentSpanId && !present.has(`${s.traceId}:${s.parentSpanId}`));
  for (const rs of request.resourceSpans ?? []) {
    const spans = spansOf(rs);
    let resource: Record<string, unknown>;
    try {
      resource = attributesOf(rs.resource?.attributes);
    } catch (error) {
      spanCount += spans.length;
      for (const span of spans) rejected.push({ span: `${String(span.name ?? '(unnamed)')} ${String(span.spanId ?? '')}`.trim(), reason: `resource ${unmappable(error)}` });
      continue;
    }
    spanCount += spans.length;
    for (const span of spans) {
      const label = `${String(span.name ?? '(unnamed)')} ${String(span.spanId ?? '')}`.trim();
      try {
        const record = mapSpan(span, resource, children);
        if (record && 'reason' in record) rejected.push({ span: label, reason: String(record.reason) });
        else if (record) {
          records.push(record);
          toolCalls.push({ traceId: String(span.traceId), spanId: String(span.spanId) });
        }
      } catch (error) {
        // The export is untrusted input: a span whose fields have the wrong shapes costs only itself.
        rejected.push({ span: label, reason: unmappable(error) });
      }
    }
  }
  // A tool call is an execution, not a step: only the other spans wait for a parent.
  const orphanSteps = orphans.filter((s) => {
    try {
      return !isToolCall(s, attributesOf(s.attributes));
    } catch {
      return false;
    }
  });
  return { records, toolCalls, orphans: orphanSteps, rejected, spans: spanCount };
}

/** One span as an execution record, a reason it cannot be one, or undefined when it is no tool call. */
function mapSpan(span: OtlpSpan, resource: Record<string, unknown>, children: Map<string, OtlpSpan[]>): Record<string, unknown> | { reason: string } | undefined {
  const attrs = attributesOf(span.attributes);
  if (!isToolCall(span, attrs)) return undefined;
  const tool = toolNameOf(span, attrs);
  if (!tool) return { reason: 'missing_field:tool.name (no gen_ai.tool.name, mcp.tool.name or tool in the span name)' };
  if (!span.traceId || !span.spanId) return { reason: 'missing_field:execution_id (span has no traceId/spanId)' };
  const startedAt = isoFromNanos(span.startTimeUnixNano);
  if (!startedAt) return { reason: 'missing_field:started_at (no startTimeUnixNano)' };
  const endedAt = isoFromNanos(span.endTimeUnixNano);
  const failed = isError(span, attrs);
  const isClientSide = Number(span.kind) === SPAN_KIND_CLIENT || span.kind === 'SPAN_KIND_CLIENT';
  const service = str(resource['service.name']);
  const user = str(attrs['user.id']) ?? str(attrs['enduser.id']) ?? str(resource['user.id']) ?? str(resource['enduser.id']);
  const errorType = str(attrs['error.type']) ?? (failed ? 'tool_error' : undefined);
  const unknown = Object.fromEntries(Object.entries(attrs).filter(([k]) => !KNOWN_ATTRIBUTES.has(k)));
  const stepSpans = (children.get(span.spanId) ?? []).slice().sort((a, b) => {
    const d = nanos(a.startTimeUnixNano) - nanos(b.startTimeUnixNano);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  });
  const steps = stepSpans.map((child, index) => ({ index, ...stepFromSpan(child, index) }));
  return {
    execution_id: `${span.traceId}-${span.spanId}`,
    started_at: startedAt,
    ...(endedAt ? { ended_at: endedAt } : {}),
    // From the nanoseconds, to the microsecond: the ISO times keep milliseconds only, and a fast
    // tool call (0.31 ms) would read as 0.
    ...(endedAt && nanos(span.endTimeUnixNano) >= nanos(span.startTimeUnixNano)
      ? { duration_ms: Number((nanos(span.endTimeUnixNano) - nanos(span.startTimeUnixNano)) / 1000n) / 1000 }
      : {}),
    status: endedAt ? (failed ? 'failed' : 'succeeded') : 'running',
    tool: { name: tool, kind: steps.length > 0 ? 'workflow' : 'connector', server: isClientSide ? null : (service ?? null) },
    // Most instrumentations record no user: such calls are still executions, shown as `unknown`.
    user: { id: user ?? 'unknown', email: str(attrs['user.email']) ?? null, name: str(attrs['user.name']) ?? null, team: str(attrs['user.team']) ?? null },
    agent: {
      client: str(attrs['mcp.client.name']) ?? str(attrs['client.name']) ?? (isClientSide ? service : undefined) ?? str(resource['mcp.client.name']) ?? null,
      session_id: str(attrs['mcp.session.id']) ?? null,
      // One trace is one agent run: its tool calls are the run's executions.
      workflow_run_id: span.traceId,
    },
    environment: str(attrs['deployment.environment.name']) ?? str(resource['deployment.environment.name']) ?? str(resource['deployment.environment']) ?? null,
    input: jsonish(attrs['gen_ai.tool.call.arguments'] ?? attrs['traceloop.entity.input']) ?? null,
    output: jsonish(attrs['gen_ai.tool.call.result'] ?? attrs['traceloop.entity.output']) ?? null,
    ...(failed ? { error: { type: errorType, message: span.status?.message ?? null, layer: errorType === 'tool_error' ? 'tool' : null } } : {}),
    ...(steps.length ? { steps } : {}),
    otel: { trace_id: span.traceId, span_id: span.spanId, span_name: span.name ?? null, attributes: unknown },
  };
}

/** A child span as a step of its tool call (index aside). */
export function stepFromSpan(child: OtlpSpan, index: number): {
  name: string; connector: string | null; operation: string | null; status: string; started_at: string | null; ended_at: string | null;
  error?: { type: string; message: string | null };
} {
  const c = attributesOf(child.attributes);
  const childFailed = isError(child, c);
  return {
    name: child.name ?? `step ${index}`,
    connector: str(c['peer.service']) ?? str(c['db.system.name']) ?? str(c['db.system']) ?? str(c['server.address']) ?? null,
    operation: str(c['db.operation.name']) ?? str(c['http.request.method']) ?? str(c['rpc.method']) ?? null,
    status: isoFromNanos(child.endTimeUnixNano) ? (childFailed ? 'failed' : 'succeeded') : 'running',
    started_at: isoFromNanos(child.startTimeUnixNano) ?? null,
    ended_at: isoFromNanos(child.endTimeUnixNano) ?? null,
    ...(childFailed ? { error: { type: str(c['error.type']) ?? 'error', message: child.status?.message ?? null } } : {}),
  };
}
