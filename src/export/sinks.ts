import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { closeSync, existsSync, fsyncSync, ftruncateSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { connect as netConnect, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { z } from 'zod';
import { parseByteSize } from '../byte-size.js';
import { UserInputError } from '../errors.js';
import { parseWindow } from '../analytics/time-range.js';
import { STREAMS } from '../store/export.js';
import { EXPORT_POLICIES, type ExportEvent } from './events.js';
import { hecEvent, octetCounted, otlpLogRecord, syslogMessage } from './formats.js';
import { encodeOtlpRequest } from '../ingest/otlp-proto.js';

/**
 * The sinks: their configuration (one schema, from the export file) and how each delivers a
 * batch. `send` resolves only when the receiver has acknowledged the whole batch (TCP: written
 * and flushed; HEC: 200, and the indexer's ack where enabled; OTLP: 2xx; files: fsync), so the
 * exporter can advance the cursor after it.
 */

const httpUrl = z.string().url().refine((u) => /^https?:/i.test(u), 'must be an http(s) URL');
const common = {
  policy: z.enum(EXPORT_POLICIES).default('masked'),
  streams: z.array(z.enum(STREAMS)).min(1).default([...STREAMS]),
  batch: z.number().int().min(1).max(10_000).default(500),
  /** Where a new sink begins: the whole history (a SIEM that wants every audit event from the first), or what comes from now on. */
  start: z.enum(['beginning', 'now']).default('beginning'),
};

export const SINK_SCHEMA = z.discriminatedUnion('type', [
  z.object({
    ...common,
    type: z.literal('syslog'),
    transport: z.enum(['tcp', 'tls', 'udp']).default('tcp'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    ca_file: z.string().optional(),
    cert_file: z.string().optional(),
    key_file: z.string().optional(),
    /** The name the server's certificate must carry; the host by default. */
    server_name: z.string().optional(),
    /**
     * TLS 1.2 by default (RFC 5425's version): its handshake ends only once the server has
     * accepted the client certificate, so a refusal fails the connection. In 1.3 the client's
     * handshake ends first and a refusal arrives after the first write, which then looks sent.
     */
    tls_max_version: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
    body: z.enum(['json', 'cef']).default('json'),
    /** Private Enterprise Number of the SD-ID; 32473 is the one RFC 5612 sets aside for documentation. */
    pen: z.number().int().min(1).default(32473),
    facility: z.number().int().min(0).max(23).default(13),
  }).strict(),
  z.object({
    ...common,
    type: z.literal('hec'),
    url: httpUrl,
    token: z.string().min(1),
    index: z.string().optional(),
    source: z.string().default('mcp-blackbox'),
    sourcetype: z.string().default('mcp:blackbox'),
    /** Indexer acknowledgement: the cursor moves only once Splunk says the events are indexed. */
    ack: z.boolean().default(false),
  }).strict(),
  z.object({
    ...common,
    type: z.literal('otlp_logs'),
    url: httpUrl,
    headers: z.record(z.string()).default({}),
    /** OTLP/HTTP's two encodings; protobuf is the collectors' default and about half the bytes. */
    encoding: z.enum(['json', 'protobuf']).default('json'),
  }).strict(),
  z.object({
    ...common,
    type: z.literal('file'),
    dir: z.string().min(1),
    prefix: z.string().regex(/^[\w.-]+$/).default('mcp-blackbox'),
    max_bytes: z.string().default('100MB'),
    max_age: z.string().default('1h'),
    keep: z.number().int().min(1).max(10_000).default(24),
  }).strict(),
]);
export type SinkConfig = z.output<typeof SINK_SCHEMA> & {
  /** The config named no streams: every stream the store keeps (a ClickHouse store keeps no alerts). */
  every_stream?: true;
};

export interface Sender {
  send(events: readonly ExportEvent[]): Promise<void>;
  close(): Promise<void>;
}

export function createSender(name: string, sink: SinkConfig): Sender {
  switch (sink.type) {
    case 'syslog':
      return sink.transport === 'udp' ? new UdpSyslog(sink) : new StreamSyslog(name, sink);
    case 'hec':
      return new HecSender(sink);
    case 'otlp_logs':
      return new OtlpLogsSender(sink);
    case 'file':
      return new FileSender(sink);
  }
}

type Syslog = Extract<SinkConfig, { type: 'syslog' }>;

const syslogOptions = (sink: Syslog) => ({ facility: sink.facility, pen: sink.pen, body: sink.body, hostname: hostname(), procId: String(process.pid) });

/** Syslog over TCP or TLS, RFC 6587 octet counting, one connection kept open. */
class StreamSyslog implements Sender {
  private socket: Socket | undefined;
  private broken: Error | undefined;

  constructor(private readonly name: string, private readonly sink: Syslog) {}

  private async connection(): Promise<Socket> {
    if (this.socket && !this.broken && !this.socket.destroyed) return this.socket;
    this.socket?.destroy();
    this.broken = undefined;
    const socket = await new Promise<Socket>((resolveSocket, reject) => {
      const onError = (error: Error) => reject(error);
      const s =
        this.sink.transport === 'tls'
          ? tlsConnect({
              host: this.sink.host,
              port: this.sink.port,
              servername: this.sink.server_name ?? this.sink.host,
              ca: this.sink.ca_file ? readFileSync(this.sink.ca_file) : undefined,
              cert: this.sink.cert_file ? readFileSync(this.sink.cert_file) : undefined,
              key: this.sink.key_file ? readFileSync(this.sink.key_file) : undefined,
              // Hostname verification stays on: a SIEM's address is not to be trusted blindly.
              rejectUnauthorized: true,
              maxVersion: this.sink.tls_max_version,
            }, () => resolveSocket(s))
          : netConnect({ host: this.sink.host, port: this.sink.port }, () => resolveSocket(s));
      s.once('error', onError);
      s.setTimeout(30_000, () => s.destroy(new Error('no progress for 30 s')));
    });
    socket.removeAllListeners('error');
    socket.on('error', (error) => (this.broken = error));
    socket.on('close', () => (this.broken ??= new Error('the receiver closed the connection')));
    this.socket = socket;
    return socket;
  }

  async send(events: readonly ExportEvent[]): Promise<void> {
    const socket = await this.connection();
    const options = syslogOptions(this.sink);
    const frames = Buffer.concat(events.map((e) => octetCounted(syslogMessage(e, options))));
    await new Promise<void>((resolveWrite, reject) => socket.write(frames, (error) => (error ? reject(error) : resolveWrite())));
    if (this.broken) throw this.broken;
  }

  async close(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    await new Promise<void>((r) => socket.end(() => r()));
    socket.destroy();
  }
}

/** Syslog over UDP (for the lab): one datagram per message, nothing acknowledged beyond the send. */
class UdpSyslog implements Sender {
  private readonly socket = createSocket('udp4');

  constructor(private readonly sink: Syslog) {
    this.socket.unref();
  }

  async send(events: readonly ExportEvent[]): Promise<void> {
    const options = syslogOptions(this.sink);
    for (const event of events) {
      const message = Buffer.from(syslogMessage(event, options), 'utf8');
      await new Promise<void>((r, reject) => this.socket.send(message, this.sink.port, this.sink.host, (error) => (error ? reject(error) : r())));
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.socket.close(() => r()));
  }
}

type Hec = Extract<SinkConfig, { type: 'hec' }>;

/** Splunk HTTP Event Collector: batched events in one body; with ack, polled until indexed. */
class HecSender implements Sender {
  private readonly channel = randomUUID();

  constructor(private readonly sink: Hec) {}

  private endpoint(path: string): string {
    return new URL(path, this.sink.url.endsWith('/') ? this.sink.url : `${this.sink.url}/`).toString();
  }

  async send(events: readonly ExportEvent[]): Promise<void> {
    const options = { host: hostname(), source: this.sink.source, sourcetype: this.sink.sourcetype, index: this.sink.index };
    const body = events.map((e) => JSON.stringify(hecEvent(e, options))).join('\n');
    const headers = { authorization: `Splunk ${this.sink.token}`, 'content-type': 'application/json', 'x-splunk-request-channel': this.channel };
    const response = await fetch(this.endpoint('services/collector/event'), { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) });
    const answer = (await response.json().catch(() => ({}))) as { code?: number; text?: string; ackId?: number };
    if (!response.ok || (answer.code !== undefined && answer.code !== 0)) throw new Error(`HEC answered ${response.status}: ${answer.text ?? 'no text'}`);
    if (!this.sink.ack) return;
    if (answer.ackId === undefined) throw new Error('HEC acknowledgement is on here, but the collector returned no ackId: enable indexer acknowledgement on the token, or set ack: false');
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const poll = await fetch(this.endpoint('services/collector/ack'), { method: 'POST', headers, body: JSON.stringify({ acks: [answer.ackId] }), signal: AbortSignal.timeout(30_000) });
      const acks = ((await poll.json().catch(() => ({}))) as { acks?: Record<string, boolean> }).acks;
      if (poll.ok && acks?.[String(answer.ackId)]) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`HEC did not acknowledge ackId ${answer.ackId} within 120 s`);
  }

  async close(): Promise<void> {}
}

type OtlpLogs = Extract<SinkConfig, { type: 'otlp_logs' }>;

/** OTLP/HTTP JSON logs to any collector. */
class OtlpLogsSender implements Sender {
  constructor(private readonly sink: OtlpLogs) {}

  async send(events: readonly ExportEvent[]): Promise<void> {
    const request = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'mcp-blackbox' } }, { key: 'host.name', value: { stringValue: hostname() } }] },
          scopeLogs: [{ scope: { name: 'mcp-blackbox', version: events[0]?.metadata.product.version ?? '' }, logRecords: events.map(otlpLogRecord) }],
        },
      ],
    };
    const protobuf = this.sink.encoding === 'protobuf';
    const response = await fetch(this.sink.url, {
      method: 'POST',
      headers: { 'content-type': protobuf ? 'application/x-protobuf' : 'application/json', ...this.sink.headers },
      body: protobuf ? new Uint8Array(encodeOtlpRequest('logs', request)) : JSON.stringify(request),
      signal: AbortSignal.timeout(30_000),
    });
    if (!response.ok) throw new Error(`the collector answered ${response.status}: ${(await response.text().catch(() => '')).slice(0, 200)}`);
    if (protobuf) return;
    const partial = ((await response.json().catch(() => ({}))) as { partialSuccess?: { rejectedLogRecords?: string | number; errorMessage?: string } }).partialSuccess;
    if (partial && Number(partial.rejectedLogRecords ?? 0) > 0) throw new Error(`the collector rejected ${partial.rejectedLogRecords} log record(s): ${partial.errorMessage ?? ''}`);
  }

  async close(): Promise<void> {}
}

type FileSink = Extract<SinkConfig, { type: 'file' }>;

/**
 * NDJSON files for a shipper (Vector, Fluent Bit, Filebeat): appended to `<prefix>.ndjson`,
 * fsynced before the cursor moves, rotated to `<prefix>-<time>.ndjson` by size or age, the
 * newest `keep` rotated files kept.
 */
class FileSender implements Sender {
  private readonly dir: string;
  private readonly current: string;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private openedAt = Date.now();

  constructor(private readonly sink: FileSink) {
    this.dir = resolve(sink.dir);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.current = join(this.dir, `${sink.prefix}.ndjson`);
    this.maxBytes = parseByteSize(sink.max_bytes) ?? 100e6;
    this.maxAgeMs = parseWindow(sink.max_age);
    if (existsSync(this.current)) this.openedAt = statSync(this.current).birthtimeMs || statSync(this.current).mtimeMs;
  }

  async send(events: readonly ExportEvent[]): Promise<void> {
    const size = existsSync(this.current) ? statSync(this.current).size : 0;
    if (size > 0 && (size >= this.maxBytes || Date.now() - this.openedAt >= this.maxAgeMs)) this.rotate();
    const fd = openSync(this.current, 'a+', 0o600);
    try {
      dropTornTail(fd);
      writeSync(fd, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private rotate(): void {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    renameSync(this.current, join(this.dir, `${this.sink.prefix}-${stamp}.ndjson`));
    this.openedAt = Date.now();
    const rotated = readdirSync(this.dir).filter((f) => f.startsWith(`${this.sink.prefix}-`) && f.endsWith('.ndjson')).sort();
    for (const old of rotated.slice(0, Math.max(0, rotated.length - this.sink.keep))) unlinkSync(join(this.dir, old));
  }

  async close(): Promise<void> {}
}

/**
 * A write cut short (the process killed mid-write, a full disk) leaves part of an event at the
 * end of the file. Its batch was never acknowledged, so it is sent again: the part is cut off
 * first, or the next event would be glued to it and a shipper would drop both.
 */
function dropTornTail(fd: number): void {
  const size = fstatSync(fd).size;
  if (size === 0) return;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  if (last[0] === 0x0a) return;
  const chunk = Buffer.alloc(64 * 1024);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - chunk.length);
    const n = readSync(fd, chunk, 0, end - start, start);
    const at = chunk.subarray(0, n).lastIndexOf(0x0a);
    if (at !== -1) return ftruncateSync(fd, start + at + 1);
    end = start;
  }
  ftruncateSync(fd, 0);
}

/** Parses one sink, with an error naming the field (never echoing a token). */
export function parseSink(name: string, input: unknown, env: NodeJS.ProcessEnv = process.env): SinkConfig {
  if (!/^[a-z0-9][a-z0-9_.-]{0,63}$/i.test(name)) throw new UserInputError(`sink name ${JSON.stringify(name)}: letters, digits, _ . - (up to 64).`);
  const type = (input as { type?: unknown } | null)?.type;
  if (!['syslog', 'hec', 'otlp_logs', 'file'].includes(type as string)) {
    throw new UserInputError(`sink ${name}: unknown type ${JSON.stringify(type)}; type is one of syslog, hec, otlp_logs, file.`);
  }
  const withEnv = Object.fromEntries(Object.entries(input as Record<string, unknown>).map(([k, v]) => {
    if (typeof v === 'string' && v.startsWith('env:')) {
      const found = env[v.slice(4)];
      if (!found) throw new UserInputError(`sink ${name}: ${k} says ${v}, but the environment variable ${v.slice(4)} is not set.`);
      return [k, found];
    }
    return [k, v];
  }));
  const parsed = SINK_SCHEMA.safeParse(withEnv);
  if (!parsed.success) throw new UserInputError(`sink ${name} (${String(type)}): ${parsed.error.issues.map((i) => `${i.path.join('.') || '(sink)'}: ${i.message}`).join('; ')}.`);
  const sink = parsed.data;
  if (sink.type === 'file') {
    if (parseByteSize(sink.max_bytes) === undefined) throw new UserInputError(`sink ${name}: max_bytes must be a size like 100MB or 64MiB; got ${JSON.stringify(sink.max_bytes)}.`);
    try {
      parseWindow(sink.max_age);
    } catch {
      throw new UserInputError(`sink ${name}: max_age must be a duration like 1h or 30m; got ${JSON.stringify(sink.max_age)}.`);
    }
  }
  if (sink.type === 'syslog' && sink.transport !== 'tls' && (sink.ca_file || sink.cert_file)) {
    throw new UserInputError(`sink ${name}: ca_file and cert_file go with transport: tls.`);
  }
  return 'streams' in withEnv ? sink : { ...sink, every_stream: true };
}
