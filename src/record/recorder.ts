import { createHash, randomUUID } from 'node:crypto';
import { TOOL_CATALOG, type ToolListRecord } from '../ingest/catalog-record.js';

/**
 * Turns the JSON-RPC traffic between an MCP client and a stdio server into execution records of
 * the log format (README, "The log format") and tool catalog records. Pure bookkeeping: it sees a copy
 * of each message and never touches the traffic itself (wrap.ts forwards the bytes unchanged).
 *
 * One execution per `tools/call` request, matched to its response by id:
 * - a result is `succeeded`, or `failed` when it has `isError: true` (error.type `tool_error`);
 * - a JSON-RPC error response is `failed` with error.type `jsonrpc_<code>`;
 * - `notifications/cancelled` from the client makes it `stopped` (a late response is ignored);
 * - a call still outstanding when the server exits is `terminated` (see terminateAll).
 */

export type Json = Record<string, unknown>;

export interface RecorderOptions {
  /** user.id of every execution: the person who launched the client. */
  user: string;
  /** tool.server; the child's serverInfo.name from its initialize result when not given. */
  server?: string;
  environment?: string;
  /** agent.session_id: one per wrapped process. */
  sessionId?: string;
  /** Longest input or output kept, in bytes of JSON (default 64 KiB); longer ones are cut, with a marker. */
  payloadCap?: number;
  now?: () => Date;
}

export const DEFAULT_PAYLOAD_CAP = 64 * 1024;

interface Pending {
  /** The execution_id its record will carry, known from the request on (see pendingExecutionId). */
  executionId: string;
  started: Date;
  name: string;
  args: unknown;
  traceparent?: string;
  progressToken?: unknown;
}

export class Recorder {
  readonly sessionId: string;
  private readonly pending = new Map<string, Pending>();
  /** Requests whose answer we want to read: initialize and tools/list, by id. */
  private readonly watched = new Map<string, 'initialize' | 'tools/list'>();
  private clientName: string | undefined;
  private serverName: string | undefined;
  private seq = 0;
  private readonly cap: number;
  private readonly now: () => Date;

  constructor(
    private readonly options: RecorderOptions,
    private readonly emit: (record: Json) => void,
  ) {
    this.sessionId = options.sessionId ?? `wrap-${randomUUID()}`;
    this.cap = options.payloadCap ?? DEFAULT_PAYLOAD_CAP;
    this.now = options.now ?? (() => new Date());
  }

  /** A message the client sent to the server. */
  fromClient(message: unknown): void {
    for (const m of Array.isArray(message) ? message : [message]) {
      if (!isObject(m) || typeof m.method !== 'string') continue;
      const params = isObject(m.params) ? m.params : {};
      if (m.method === 'notifications/cancelled') {
        this.cancel(params.requestId);
        continue;
      }
      if (!('id' in m) || m.id === null || m.id === undefined) continue;
      const key = idKey(m.id);
      if (m.method === 'initialize') {
        const info = isObject(params.clientInfo) ? params.clientInfo : {};
        if (typeof info.name === 'string') this.clientName = info.name;
        this.watched.set(key, 'initialize');
      } else if (m.method === 'tools/list') {
        this.watched.set(key, 'tools/list');
      } else if (m.method === 'tools/call') {
        const meta = isObject(params._meta) ? params._meta : {};
        this.pending.set(key, {
          executionId: `${this.sessionId}-${++this.seq}`,
          started: this.now(),
          name: typeof params.name === 'string' ? params.name : '(unnamed)',
          args: params.arguments,
          traceparent: typeof meta.traceparent === 'string' ? meta.traceparent : undefined,
          progressToken: meta.progressToken,
        });
      }
    }
  }

  /** A message the server sent to the client. */
  fromServer(message: unknown): void {
    for (const m of Array.isArray(message) ? message : [message]) {
      // Responses only: requests from the server (sampling, elicitation, roots) have a method,
      // and their ids are the server's own, which may equal a pending client id.
      if (!isObject(m) || 'method' in m || !('id' in m) || m.id === null) continue;
      const key = idKey(m.id);
      const watched = this.watched.get(key);
      if (watched) {
        this.watched.delete(key);
        if (watched === 'initialize' && isObject(m.result) && isObject(m.result.serverInfo) && typeof m.result.serverInfo.name === 'string') {
          this.serverName = m.result.serverInfo.name;
        }
        if (watched === 'tools/list' && isObject(m.result) && Array.isArray(m.result.tools)) this.catalog(m.result.tools);
        continue;
      }
      const call = this.pending.get(key);
      if (!call) continue;
      this.pending.delete(key);
      if (isObject(m.error)) {
        const code = typeof m.error.code === 'number' ? m.error.code : 'unknown';
        this.finish(call, 'failed', { error: { type: `jsonrpc_${code}`, message: String(m.error.message ?? ''), layer: 'tool' } });
      } else {
        const result = isObject(m.result) ? m.result : {};
        const output = resultOutput(result);
        if (result.isError === true) {
          this.finish(call, 'failed', { output, error: { type: 'tool_error', message: firstText(result).slice(0, 2000), layer: 'tool' } });
        } else {
          this.finish(call, 'succeeded', { output });
        }
      }
    }
  }

  /** The server went away: every call still outstanding is terminated. */
  terminateAll(reason: string): void {
    for (const [key, call] of this.pending) {
      this.pending.delete(key);
      this.finish(call, 'terminated', { error: { type: 'server_exited', message: reason, layer: 'platform' } });
    }
  }

  /** The execution id a response with this JSON-RPC id will be recorded under, while its call is outstanding. */
  pendingExecutionId(id: unknown): string | undefined {
    return id === undefined || id === null ? undefined : this.pending.get(idKey(id))?.executionId;
  }

  /** Calls sent and not yet answered. */
  get outstanding(): number {
    return this.pending.size;
  }

  private cancel(requestId: unknown): void {
    if (requestId === undefined || requestId === null) return;
    const key = idKey(requestId);
    const call = this.pending.get(key);
    if (!call) return;
    this.pending.delete(key);
    this.finish(call, 'stopped', { error: { type: 'cancelled', message: 'The client cancelled the call.', layer: 'llm' } });
  }

  private finish(call: Pending, status: string, extra: { output?: unknown; error?: Json }): void {
    const ended = this.now();
    const record: Json = {
      execution_id: call.executionId,
      started_at: call.started.toISOString(),
      ended_at: ended.toISOString(),
      status,
      tool: { name: call.name, kind: 'connector', ...(this.server ? { server: this.server } : {}) },
      user: { id: this.options.user },
      agent: { ...(this.clientName ? { client: this.clientName } : {}), session_id: this.sessionId },
      ...(this.options.environment ? { environment: this.options.environment } : {}),
      via_mcp: true,
      ...(call.args !== undefined ? { input: capped(call.args, this.cap) } : {}),
      ...(extra.output !== undefined ? { output: capped(extra.output, this.cap) } : {}),
      ...(extra.error ? { error: extra.error } : {}),
      // Not in the format: kept by ingest in attributes, for joining with the client's own traces.
      ...(call.traceparent ? { traceparent: call.traceparent } : {}),
      recorded_by: 'mcp-blackbox wrap',
    };
    this.emit(record);
  }

  private get server(): string | undefined {
    return this.options.server ?? this.serverName;
  }

  private catalog(tools: unknown[]): void {
    const server = this.server;
    if (!server) return;
    const record: ToolListRecord = {
      record_type: TOOL_CATALOG,
      seen_at: this.now().toISOString(),
      server,
      tools: tools.filter(isObject).filter((t) => typeof t.name === 'string' && t.name.length > 0 && t.name.length <= 256).slice(0, 10_000).map((t) => ({
        name: t.name as string,
        ...(typeof t.description === 'string' ? { description: t.description.slice(0, 4000) } : {}),
        input_schema_sha256: createHash('sha256').update(canonicalJson(t.inputSchema ?? null)).digest('hex'),
      })),
    };
    this.emit(record as unknown as Json);
  }
}

/** What a tool answered, for the record: its text content and structuredContent; other content by type and size. */
function resultOutput(result: Json): Json {
  const content = Array.isArray(result.content) ? result.content : [];
  const out: Json = {
    content: content.filter(isObject).map((c) =>
      c.type === 'text' ? { type: 'text', text: c.text } : { type: c.type, ...(typeof c.mimeType === 'string' ? { mimeType: c.mimeType } : {}), bytes: JSON.stringify(c).length },
    ),
  };
  if (result.structuredContent !== undefined) out.structuredContent = result.structuredContent;
  return out;
}

function firstText(result: Json): string {
  const content = Array.isArray(result.content) ? result.content : [];
  const text = content.find((c) => isObject(c) && c.type === 'text' && typeof c.text === 'string') as Json | undefined;
  return (text?.text as string | undefined) ?? '';
}

/**
 * A payload over `cap` bytes of JSON is replaced by a marker that says it was cut, with its size
 * and the start of its JSON text: a 20 MB tool result must not become a 20 MB log line.
 */
export function capped(value: unknown, cap: number): unknown {
  const json = JSON.stringify(value) ?? 'null';
  const bytes = Buffer.byteLength(json);
  if (bytes <= cap) return value;
  return { _truncated: true, _original_bytes: bytes, _kept_bytes: cap, preview: Buffer.from(json).subarray(0, cap).toString('utf8').replace(/\uFFFD+$/, '') };
}

function idKey(id: unknown): string {
  return `${typeof id}:${String(id)}`;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON with keys sorted, so that the same schema hashes the same whatever the key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObject(value)) return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}
