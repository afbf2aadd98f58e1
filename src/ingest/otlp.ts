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
import type { HeldSpan, LateStep, MappedCall } from './otlp-store.js';

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
  events?: Array<{ name?: string; attributes?: KeyValue[] }>;
}

export interface ExportTraceServiceRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{ scope?: { name?: string }; spans?: OtlpSpan[] }>;
  }>;
}

export interface MappedTraces {
  records: Array<Record<string, unknown>>;
  /** The tool-call spans that became records, with the children they took as steps. */
  toolCalls: MappedCall[];
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

/**
 * Attribute names that mean the same thing in different emitters, tried in this order: the
 * OpenTelemetry MCP semantic conventions first, then Sentry's MCP integration, Docker's MCP
 * Gateway, OpenInference and OpenLLMetry (Traceloop). The README's vendor table is this one.
 */
export const ATTRIBUTE_ALIASES = {
  tool_name: ['gen_ai.tool.name', 'mcp.tool.name', 'tool.name'],
  server: ['mcp.server.name'],
  session: ['mcp.session.id', 'mcp.session_id'],
  client: ['mcp.client.name', 'client.name'],
  input: ['gen_ai.tool.call.arguments', 'traceloop.entity.input', 'input.value'],
  output: ['gen_ai.tool.call.result', 'traceloop.entity.output', 'output.value', 'mcp.tool.result.content'],
  is_error: ['mcp.tool.result.is_error'],
  transport: ['mcp.transport', 'network.transport'],
} as const;

/** Sentry puts each argument in its own attribute: `mcp.request.argument.<name>`. */
const ARGUMENT_PREFIX = 'mcp.request.argument.';

const first = (attrs: Record<string, unknown>, names: readonly string[]): unknown => {
  for (const name of names) if (attrs[name] !== undefined && attrs[name] !== '') return attrs[name];
  return undefined;
};

export function toolNameOf(span: OtlpSpan, attrs: Record<string, unknown>): string | undefined {
  const method = str(attrs['mcp.method.name']);
  const named = str(first(attrs, ATTRIBUTE_ALIASES.tool_name)) ?? (attrs['traceloop.span.kind'] === 'tool' ? str(attrs['traceloop.entity.name']) : undefined);
  if (named) return named;
  const name = span.name ?? '';
  if (name.startsWith('tools/call ')) return name.slice('tools/call '.length).trim() || undefined;
  if (method === 'tools/call') return undefined; // a tool call without a tool name: rejected below
  if (attrs['traceloop.span.kind'] === 'tool' && name.endsWith('.tool')) return name.slice(0, -'.tool'.length);
  // OpenInference's traceTool names the span after the tool.
  if (attrs['openinference.span.kind'] === 'TOOL' && name) return name;
  return undefined;
}

function isToolCall(span: OtlpSpan, attrs: Record<string, unknown>): boolean {
  return (
    attrs['mcp.method.name'] === 'tools/call' ||
    (span.name ?? '').startsWith('tools/call') ||
    attrs['mcp.tool.name'] !== undefined ||
    attrs['traceloop.span.kind'] === 'tool' ||
    attrs['openinference.span.kind'] === 'TOOL'
  );
}

function isError(span: OtlpSpan, attrs: Record<string, unknown>): boolean {
  return (
    Number(span.status?.code) === STATUS_ERROR ||
    span.status?.code === 'STATUS_CODE_ERROR' ||
    attrs['error.type'] !== undefined ||
    first(attrs, ATTRIBUTE_ALIASES.is_error) === true ||
    resultIsError(jsonish(first(attrs, ATTRIBUTE_ALIASES.output)))
  );
}

/** An MCP tool result that says it failed (`isError: true`), as an output attribute may carry it. */
function resultIsError(output: unknown): boolean {
  return typeof output === 'object' && output !== null && (output as { isError?: unknown }).isError === true;
}

/** The text a tool answered with: an isError call's message when nothing else gives one. */
function resultText(output: unknown): string | undefined {
  const content = Array.isArray(output) ? output : typeof output === 'object' && output !== null ? (output as { content?: unknown }).content : undefined;
  if (!Array.isArray(content)) return typeof output === 'string' ? output : undefined;
  const text = content.find((c) => c && typeof c === 'object' && (c as { type?: unknown }).type === 'text') as { text?: unknown } | undefined;
  return str(text?.text);
}

/** The first `exception` event: what a thrown error left on the span. */
function exceptionOf(span: OtlpSpan): { type?: string; message?: string } {
  const event = (Array.isArray(span.events) ? span.events : []).find((e) => e && e.name === 'exception');
  if (!event) return {};
  const a = attributesOf(event.attributes);
  return { type: str(a['exception.type']), message: str(a['exception.message']) };
}

const KNOWN_ATTRIBUTES = new Set<string>([
  'mcp.method.name', 'traceloop.span.kind', 'traceloop.entity.name', 'openinference.span.kind', 'input.mime_type', 'output.mime_type',
  ...Object.values(ATTRIBUTE_ALIASES).flat(),
  'error.type', 'user.id', 'enduser.id', 'user.email',
  'user.name', 'user.team', 'deployment.environment.name', 'deployment.environment',
]);

/** The spans of one resource's scopes, whatever their shape: the export is untrusted input. */
function spansOf(rs: NonNullable<ExportTraceServiceRequest['resourceSpans']>[number]): OtlpSpan[] {
  return (Array.isArray(rs?.scopeSpans) ? rs.scopeSpans : []).flatMap((ss) => (Array.isArray(ss?.spans) ? ss.spans : [])).filter((s) => s && typeof s === 'object');
}

/** Every span of an export request, across its resources and scopes. */
export function requestSpans(request: ExportTraceServiceRequest): OtlpSpan[] {
  return (Array.isArray(request.resourceSpans) ? request.resourceSpans : []).flatMap(spansOf);
}

/**
 * `held`: spans of earlier requests that waited for their parent (store/otlp-held.ts); they join
 * the children of the request's spans, so a tool call gets the steps that were exported before it.
 */
export function mapTraces(request: ExportTraceServiceRequest, held: readonly OtlpSpan[] = []): MappedTraces {
  const records: Array<Record<string, unknown>> = [];
  const toolCalls: MappedTraces['toolCalls'] = [];
  const rejected: MappedTraces['rejected'] = [];
  let spanCount = 0;
  const everySpan = requestSpans(request);
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
          const steps = (record.steps ?? []) as Array<{ span_id: string }>;
          toolCalls.push({ traceId: String(span.traceId), spanId: String(span.spanId), taken: steps.map((s) => s.span_id) });
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
  const exception = exceptionOf(span);
  const output = jsonish(first(attrs, ATTRIBUTE_ALIASES.output));
  const errorType = str(attrs['error.type']) ?? (failed ? (exception.type && !resultIsError(output) ? exception.type : 'tool_error') : undefined);
  // The real error text: the status message, or what was thrown, or what an isError result said.
  // A bare status name (Sentry's `internal_error`) says only that it failed, not why.
  const statusMessage = span.status?.message && !/^[a-z]+(_[a-z]+)*$/.test(span.status.message) ? span.status.message : undefined;
  const errorMessage = statusMessage || exception.message || (failed ? resultText(output) : undefined) || span.status?.message || null;
  const argumentsByName = Object.entries(attrs).filter(([k]) => k.startsWith(ARGUMENT_PREFIX));
  const recorded = jsonish(first(attrs, ATTRIBUTE_ALIASES.input));
  // OpenInference records every argument of the wrapped function: for an MCP tool handler,
  // (arguments, extra), the first is the tool's arguments and the second the SDK's request context.
  const input = (attrs['openinference.span.kind'] === 'TOOL' && Array.isArray(recorded) && recorded.length > 1 && typeof recorded[0] === 'object' ? recorded[0] : recorded) ??
    (argumentsByName.length ? Object.fromEntries(argumentsByName.map(([k, v]) => [k.slice(ARGUMENT_PREFIX.length), jsonish(v)])) : undefined);
  const unknown = Object.fromEntries(Object.entries(attrs).filter(([k]) => !KNOWN_ATTRIBUTES.has(k) && !k.startsWith(ARGUMENT_PREFIX)));
  const stepSpans = (children.get(span.spanId) ?? []).slice().sort((a, b) => {
    const d = nanos(a.startTimeUnixNano) - nanos(b.startTimeUnixNano);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  });
  // The span id names the step across exports: a store that adds late steps when reading
  // (ClickHouse) skips those the call already took.
  const steps = stepSpans.map((child, index) => ({ index, ...stepFromSpan(child, index), span_id: child.spanId }));
  return {
    execution_id: toolCallExecutionId(span.traceId, span.spanId),
    started_at: startedAt,
    ...(endedAt ? { ended_at: endedAt } : {}),
    // From the nanoseconds, to the microsecond: the ISO times keep milliseconds only, and a fast
    // tool call (0.31 ms) would read as 0.
    ...(endedAt && nanos(span.endTimeUnixNano) >= nanos(span.startTimeUnixNano)
      ? { duration_ms: Number((nanos(span.endTimeUnixNano) - nanos(span.startTimeUnixNano)) / 1000n) / 1000 }
      : {}),
    status: endedAt ? (failed ? 'failed' : 'succeeded') : 'running',
    tool: { name: tool, kind: steps.length > 0 ? 'workflow' : 'connector', server: str(first(attrs, ATTRIBUTE_ALIASES.server)) ?? (isClientSide ? null : (service ?? null)) },
    // Most instrumentations record no user: such calls are still executions, shown as `unknown`.
    user: { id: user ?? 'unknown', email: str(attrs['user.email']) ?? null, name: str(attrs['user.name']) ?? null, team: str(attrs['user.team']) ?? null },
    agent: {
      client: str(first(attrs, ATTRIBUTE_ALIASES.client)) ?? (isClientSide ? service : undefined) ?? str(resource['mcp.client.name']) ?? null,
      session_id: str(first(attrs, ATTRIBUTE_ALIASES.session)) ?? null,
      // A trace is an agent run when the tool call sits inside something (an agent, a session
      // span). Emitters that start a trace per call (Sentry, Shinzo) make the call its root: it
      // claims no run, and its related executions are its session's.
      workflow_run_id: span.parentSpanId ? span.traceId : null,
    },
    environment: str(attrs['deployment.environment.name']) ?? str(resource['deployment.environment.name']) ?? str(resource['deployment.environment']) ?? null,
    input: input ?? null,
    output: output ?? null,
    // An error recorded on a tool-call span happened in the tool (its own code or what it called),
    // whatever class name the emitter gives it (`tool_error`, `Error`, `TypeError`).
    ...(failed ? { error: { type: errorType, message: errorMessage, layer: 'tool' } } : {}),
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

/** Child spans that join their stored tool call after it (late steps), in the order they started. */
export function lateSteps(spans: readonly OtlpSpan[]): LateStep[] {
  return spans
    .map((span, i) => {
      const step = stepFromSpan(span, i);
      return { span_id: String(span.spanId), ...step, error: step.error ? { type: step.error.type, message: step.error.message } : null };
    })
    .sort((a, b) => (a.started_at ?? '\uffff').localeCompare(b.started_at ?? '\uffff'));
}

/** A tool call's execution id, from its span: what a child's trace and parent span id name too. */
export function toolCallExecutionId(traceId: string, spanId: string): string {
  return `${traceId}-${spanId}`;
}

/**
 * The children held for these calls that their records did not take (held by a concurrent export
 * after the record was made): late steps of each call's execution.
 */
export function missedChildren(calls: readonly MappedCall[], held: readonly HeldSpan[]): Array<{ executionId: string; steps: LateStep[] }> {
  return calls.flatMap((call) => {
    const taken = new Set(call.taken);
    const missed = held.filter((h) => h.trace_id === call.traceId && h.parent_span_id === call.spanId && !taken.has(h.span_id));
    return missed.length ? [{ executionId: toolCallExecutionId(call.traceId, call.spanId), steps: lateSteps(missed.map((h) => h.span as OtlpSpan)) }] : [];
  });
}
