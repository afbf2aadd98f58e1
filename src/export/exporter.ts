import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { AuditLog } from '../access/audit.js';
import { UserInputError } from '../errors.js';
import { describeReceiverFailure } from '../receiver-errors.js';
import { LeaseKeeper, type Lease } from '../store/lease.js';
import type { Position, Stream } from '../store/export.js';
import type { Store } from '../store/store.js';
import { exportStoreOf, sinkOnStore, type ExportStore, type Page } from './export-store.js';
import { alertEvent, auditEvent, executionEvent, type ExportEvent } from './events.js';
import { createSender, parseSink, type Sender, type SinkConfig } from './sinks.js';

/** Reads an export file (JSON, or YAML by extension): `{"sinks": {"name": {...}}}`. */
export function loadExportFile(path: string, env: NodeJS.ProcessEnv = process.env): Map<string, SinkConfig> {
  let data: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    data = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new UserInputError(`--export ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`}`);
  }
  const sinks = (data as { sinks?: unknown } | null)?.sinks;
  if (!sinks || typeof sinks !== 'object' || Array.isArray(sinks)) throw new UserInputError(`--export ${path}: expected {"sinks": {"<name>": {"type": "syslog" | "hec" | "otlp_logs" | "file", ...}}}.`);
  return new Map(Object.entries(sinks as Record<string, unknown>).map(([name, value]) => [name, parseSink(name, value, env)]));
}

interface Batch {
  events: ExportEvent[];
  positions: Map<Stream, Position>;
}

/**
 * Events already built, shared by the sinks of one process: sinks that read the same stream with
 * the same policy (they move together, most of the time) build each event once. Bounded; the
 * oldest entries go first.
 */
export class EventCache {
  private readonly events = new Map<string, ExportEvent>();

  constructor(private readonly max = 20_000) {}

  get(key: string, build: () => ExportEvent): ExportEvent {
    let event = this.events.get(key);
    if (!event) {
      event = build();
      this.events.set(key, event);
      if (this.events.size > this.max) this.events.delete(this.events.keys().next().value!);
    }
    return event;
  }
}

/** The next batch of a sink: up to `batch` events of each of its streams after its cursors. */
async function nextBatch(store: ExportStore, name: string, sink: SinkConfig, cache: EventCache): Promise<Batch> {
  let cursors = await store.cursors(name);
  if (cursors.size === 0 && sink.start === 'now') {
    // A new sink that starts now: its cursors are the streams' ends at its first look.
    const ends = await store.ends();
    await store.advance(name, ends, 0);
    cursors = ends;
  }
  const wants = (stream: Stream) => sink.streams.includes(stream);
  const none: Page<never> = { rows: [] };
  const [executions, audit, alerts] = await Promise.all([
    wants('executions') ? store.executionsAfter(cursors.get('executions'), sink.batch) : none,
    wants('audit') ? store.auditAfter(cursors.get('audit'), sink.batch) : none,
    wants('alerts') ? store.alertsAfter(cursors.get('alerts'), sink.batch) : none,
  ]);
  const p = sink.policy;
  const events: ExportEvent[] = [
    ...executions.rows.map((r) => cache.get(`${p}|e|${r.execution_id}|${r.pos_at}`, () => executionEvent(r, p))),
    ...audit.rows.map((r) => cache.get(`${p}|a|${r.chain_id ?? ''}|${r.seq}`, () => auditEvent(r, p))),
    ...alerts.rows.map((r) => cache.get(`${p}|l|${r.uid ?? r.seq}`, () => alertEvent(r, p))),
  ];
  const positions = new Map<Stream, Position>();
  if (executions.position) positions.set('executions', executions.position);
  if (audit.position) positions.set('audit', audit.position);
  if (alerts.position) positions.set('alerts', alerts.position);
  return { events, positions };
}

/**
 * Keeps export from slowing ingest: while batches are being ingested, the sinks of a process
 * together spend at most a tenth of their time working (they wait nine times what a batch took
 * them); idle, they run at full speed. Export falls behind during a burst and catches up after:
 * the pressure goes to the cursor, never to ingest.
 */
export class ExportPacer {
  private lastIngest = -Infinity;
  /** Sinks working side by side: each gets its part of the share. */
  sinks = 1;

  constructor(private readonly share = 0.1, private readonly busyForMs = 2_000) {}

  ingested(): void {
    this.lastIngest = performance.now();
  }

  /** How long to wait after `workedMs` of export work. */
  pause(workedMs: number): number {
    return performance.now() - this.lastIngest < this.busyForMs ? workedMs * (this.sinks / this.share - 1) : 0;
  }
}

export interface ExporterOptions {
  log?: (line: string) => void;
  /** First retry after this, doubling with jitter up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** How often an idle sink looks for new events (ingest also wakes it). */
  pollMs?: number;
  /**
   * On a store several instances share: each sink runs only on the instance that holds its
   * lease (one per sink name), and only while it holds it; the others stand by.
   */
  lease?: (sink: string) => Lease;
}

/**
 * One loop per sink: read the events after its cursors from the database, send them, and move
 * the cursors only once the receiver acknowledged, in one transaction. The database is the
 * buffer: a receiver that is down costs memory for one batch, never slows ingest, and loses
 * nothing; after a crash the last unacknowledged batch (at most `batch` events per stream) is
 * sent again. Under a lease it sends and moves cursors only while the lease is held; a sink that
 * changes hands sends its last unacknowledged batch again, as after a crash.
 */
export class SinkRunner {
  private sender: Sender | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;
  private readonly store: ExportStore;
  readonly sink: SinkConfig;

  constructor(
    store: Store | ExportStore,
    readonly name: string,
    config: SinkConfig,
    private readonly options: ExporterOptions = {},
    private readonly cache = new EventCache(),
    private readonly pacer?: ExportPacer,
    /** Asked before each send and each cursor move: false stops the drain (the lease was lost). */
    private readonly mayAct: () => boolean = () => true,
  ) {
    this.store = exportStoreOf(store);
    this.sink = sinkOnStore(name, config, this.store);
  }

  /** Starts the loop; a runner stopped may be started again (its sink changed hands and came back). */
  start(): void {
    this.stopped = false;
    this.running = this.loop();
  }

  /** New data: look now rather than at the next poll. */
  kick(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
    await this.sender?.close().catch(() => undefined);
    this.sender = undefined;
  }

  /** Sends batches until the sink is caught up; returns how many events it sent. */
  async drain(): Promise<number> {
    let sent = 0;
    for (;;) {
      const started = performance.now();
      if (!this.mayAct()) return sent;
      const batch = await nextBatch(this.store, this.name, this.sink, this.cache);
      // Rows read and all skipped (on ClickHouse, versions a stored one outranks) still move the cursor.
      if (batch.events.length === 0 && batch.positions.size === 0) return sent;
      if (batch.events.length) {
        if (!this.mayAct()) return sent;
        this.sender ??= createSender(this.name, this.sink);
        await this.sender.send(batch.events);
      }
      if (!this.mayAct()) return sent;
      await this.store.advance(this.name, batch.positions, batch.events.length);
      sent += batch.events.length;
      this.failures = 0;
      const pause = this.pacer?.pause(performance.now() - started) ?? 0;
      if (pause > 0 && !this.stopped) await new Promise((r) => setTimeout(r, pause));
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let waitMs = this.options.pollMs ?? 1_000;
      try {
        await this.drain();
      } catch (error) {
        if (this.stopped) break;
        this.failures++;
        // A receiver's own answer (HEC's text, a TLS name mismatch) is kept; a network failure is named by its code.
        const message = describeReceiverFailure(error, 30_000);
        this.options.log?.(`export ${this.name}: ${message}; retrying`);
        if (this.mayAct()) await this.store.recordError(this.name, message).catch(() => undefined);
        const backoff = Math.min(this.options.maxBackoffMs ?? 60_000, (this.options.backoffMs ?? 1_000) * 2 ** (this.failures - 1));
        waitMs = backoff * (0.75 + Math.random() * 0.5);
      }
      if (this.stopped) break;
      await new Promise<void>((r) => {
        const timer = setTimeout(r, waitMs);
        timer.unref();
        this.wake = () => {
          clearTimeout(timer);
          r();
        };
      });
      this.wake = undefined;
    }
  }
}

/** Every sink of the export config, running (each under its lease, on a shared store). */
export class Exporter {
  readonly runners: SinkRunner[];
  private readonly keepers: LeaseKeeper[] = [];
  private unsubscribe: (() => void) | undefined;
  private readonly store: ExportStore;

  private readonly pacer = new ExportPacer();

  constructor(store: Store | ExportStore, readonly sinks: ReadonlyMap<string, SinkConfig>, options: ExporterOptions = {}) {
    this.store = exportStoreOf(store);
    const cache = new EventCache();
    this.pacer.sinks = Math.max(1, sinks.size);
    this.runners = [...sinks].map(([name, sink]) => {
      const lease = options.lease?.(name);
      const runner = new SinkRunner(this.store, name, sink, options, cache, this.pacer, lease ? () => lease.held() : undefined);
      if (lease) this.keepers.push(new LeaseKeeper(lease, runner, { log: options.log }));
      return runner;
    });
  }

  /** Starts every sink; a raw one is an audit event first (who gets unmasked data is itself audited). */
  async start(audit: AuditLog): Promise<void> {
    await this.store.register(this.runners.map((r) => ({ name: r.name, streams: r.sink.streams })));
    for (const runner of this.runners) {
      if (runner.sink.policy === 'raw') {
        await audit.record({ id: 'mcp-blackbox', role: 'admin' }, { action: 'export', target: runner.name, reason: 'export sink started with policy raw', details: { sink: runner.name, type: runner.sink.type, policy: 'raw', streams: runner.sink.streams } });
      }
    }
    if (this.keepers.length) for (const keeper of this.keepers) keeper.start();
    else for (const runner of this.runners) runner.start();
    this.unsubscribe = this.store.onIngested?.(() => {
      this.pacer.ingested();
      for (const runner of this.runners) runner.kick();
    });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    if (this.keepers.length) await Promise.all(this.keepers.map((k) => k.stop()));
    else await Promise.all(this.runners.map((r) => r.stop()));
  }
}

export interface SinkStatus {
  name: string;
  type: string;
  policy: string;
  streams: string[];
  lag_events: number;
  lag_seconds: number | null;
  sent: number;
  last_success: string | null;
  last_error: string | null;
  last_error_at: string | null;
}

/** Each sink's lag (events not sent yet, and how long the oldest has waited), last success and last error. */
export async function exportStatus(target: Store | ExportStore, sinks: ReadonlyMap<string, SinkConfig>, now = new Date()): Promise<SinkStatus[]> {
  const store = exportStoreOf(target);
  const out: SinkStatus[] = [];
  const rows = sinks.size ? await store.statuses() : new Map();
  for (const [name, config] of sinks) {
    const sink = sinkOnStore(name, config, store);
    const lag = await store.lag(await store.cursors(name), sink.streams);
    const row = rows.get(name);
    out.push({
      name, type: sink.type, policy: sink.policy, streams: sink.streams,
      lag_events: lag.events,
      lag_seconds: lag.oldest ? Math.max(0, Math.round((now.getTime() - Date.parse(lag.oldest)) / 1000)) : null,
      sent: row?.sent ?? 0,
      last_success: row?.last_success ?? null,
      last_error: row?.last_error ?? null,
      last_error_at: row?.last_error_at ?? null,
    });
  }
  return out;
}

/**
 * Sends a past range again (a backfill, or a new SIEM): the events that happened in [from, to),
 * through the sink's format and policy, without touching its cursors.
 */
export async function replay(target: Store | ExportStore, name: string, config: SinkConfig, range: { from: Date; to: Date }, log?: (line: string) => void): Promise<number> {
  const store = exportStoreOf(target);
  const sink = sinkOnStore(name, config, store);
  const sender = createSender(name, sink);
  let sent = 0;
  try {
    if (sink.streams.includes('executions')) {
      let after: { at: string; id: string } | null = null;
      for (;;) {
        const rows = await store.executionsBetween(range, after, sink.batch);
        if (rows.length === 0) break;
        await sender.send(rows.map((r) => executionEvent(r, sink.policy)));
        sent += rows.length;
        const last = rows.at(-1)!;
        after = { at: last.started_pos!, id: last.execution_id };
        log?.(`export ${name}: ${sent} events sent`);
      }
    }
    for (const stream of ['audit', 'alerts'] as const) {
      if (!sink.streams.includes(stream)) continue;
      const events = stream === 'audit' ? (await store.auditBetween(range)).map((r) => auditEvent(r, sink.policy)) : (await store.alertsBetween(range)).map((r) => alertEvent(r, sink.policy));
      for (let i = 0; i < events.length; i += sink.batch) await sender.send(events.slice(i, i + sink.batch));
      sent += events.length;
    }
  } finally {
    await sender.close().catch(() => undefined);
  }
  return sent;
}
