import { onIngested } from '../ingest/ingested.js';
import {
  advanceCursors, alertEventsAfter, alertEventsBetween, auditAfter, auditBetween, cursorRows, executionsAfter, executionsBetween,
  lagOf, recordExportError, registeredSinks, registerSink, retireSinksExcept, sinkStatusRows, streamEnds, STREAMS,
  type AlertExportRow, type AuditExportRow, type ExecutionRow, type Position, type SinkStatusRow, type Stream,
} from '../store/export.js';
import type { Store } from '../store/store.js';
import { UserInputError } from '../errors.js';
import type { SinkConfig } from './sinks.js';

/** Rows of a stream after a position, and the position after the last row read (absent: nothing new). */
export interface Page<T> {
  rows: T[];
  position?: Position;
}

/**
 * What the export reads and writes, per store: the streams in a stable order after a position,
 * each sink's cursors and status. The exporter (exporter.ts) never names an engine.
 */
export interface ExportStore {
  /** The streams this store keeps; a sink that asks for another is refused at start. */
  readonly streams: readonly Stream[];
  cursors(sink: string): Promise<Map<Stream, Position>>;
  /** Where each stream ends now: a sink that starts at "now" begins here. */
  ends(): Promise<Map<Stream, Position>>;
  executionsAfter(after: Position | undefined, limit: number): Promise<Page<ExecutionRow>>;
  auditAfter(after: Position | undefined, limit: number): Promise<Page<AuditExportRow>>;
  alertsAfter(after: Position | undefined, limit: number): Promise<Page<AlertExportRow>>;
  /** Moves a sink's cursors and counts what it sent, once the receiver acknowledged. */
  advance(sink: string, positions: ReadonlyMap<Stream, Position>, sent: number): Promise<void>;
  recordError(sink: string, message: string): Promise<void>;
  /** The sinks configured now, with their streams (what the export lag alert watches). */
  register(sinks: ReadonlyArray<{ name: string; streams: readonly Stream[] }>): Promise<void>;
  /** The sinks registered and not retired, with their streams. */
  registered(): Promise<Array<{ sink: string; streams: Stream[] }>>;
  /** Every sink's sent count, last success and last error, by name. */
  statuses(): Promise<Map<string, SinkStatusRow>>;
  /** Events not sent yet after these positions, and when the oldest of them was stored. */
  lag(positions: ReadonlyMap<Stream, Position>, streams: readonly Stream[]): Promise<{ events: number; oldest: string | null }>;
  /** A past range, by when things happened, after a keyset position (a replay). */
  executionsBetween(range: { from: Date; to: Date }, after: { at: string; id: string } | null, limit: number): Promise<ExecutionRow[]>;
  auditBetween(range: { from: Date; to: Date }): Promise<AuditExportRow[]>;
  alertsBetween(range: { from: Date; to: Date }): Promise<AlertExportRow[]>;
  /** Called after each batch this process stored: the sinks look at once rather than at their next poll. */
  onIngested?(listener: () => void): () => void;
}

const seqOf = (p: Position | undefined) => (p && 'seq' in p ? p.seq : 0);

/** The DuckDB store's export: one process writes, so storage order is a transaction's time, then id, and sequence numbers. */
export function duckdbExportStore(store: Store): ExportStore {
  return {
    streams: STREAMS,
    cursors: (sink) => store.read((db) => cursorRows(db, sink)),
    ends: () => store.read((db) => streamEnds(db)),
    async executionsAfter(after, limit) {
      const rows = await store.read((db) => executionsAfter(db, after && 'id' in after ? after : null, limit));
      const last = rows.at(-1);
      return { rows, ...(last ? { position: { at: last.pos_at, id: last.execution_id } } : {}) };
    },
    async auditAfter(after, limit) {
      const rows = await store.read((db) => auditAfter(db, seqOf(after), limit));
      return { rows, ...(rows.length ? { position: { seq: rows.at(-1)!.seq } } : {}) };
    },
    async alertsAfter(after, limit) {
      const rows = await store.read((db) => alertEventsAfter(db, seqOf(after), limit));
      return { rows, ...(rows.length ? { position: { seq: rows.at(-1)!.seq! } } : {}) };
    },
    advance: (sink, positions, sent) => store.write((db) => advanceCursors(db, sink, positions, sent, new Date())),
    recordError: (sink, message) => store.write((db) => recordExportError(db, sink, message, new Date())),
    async register(sinks) {
      await store.write((db) => retireSinksExcept(db, sinks.map((s) => s.name)));
      for (const sink of sinks) await store.write((db) => registerSink(db, sink.name, sink.streams));
    },
    registered: () => store.read((db) => registeredSinks(db)),
    statuses: async () => new Map((await store.read((db) => sinkStatusRows(db))).map((r) => [r.sink, r])),
    lag: (positions, streams) => store.read((db) => lagOf(db, positions, streams)),
    executionsBetween: (range, after, limit) => store.read((db) => executionsBetween(db, range, after, limit)),
    auditBetween: (range) => store.read((db) => auditBetween(db, range)),
    alertsBetween: (range) => store.read((db) => alertEventsBetween(db, range)),
    onIngested: (listener) => onIngested(store, listener),
  };
}

/**
 * A sink as it runs on this store: a config that named no streams takes the ones the store keeps;
 * one that names a stream the store does not keep is refused, saying which it does.
 */
export function sinkOnStore<T extends SinkConfig>(name: string, sink: T, store: ExportStore): T {
  if (sink.every_stream) return { ...sink, streams: sink.streams.filter((s) => store.streams.includes(s)) };
  const missing = sink.streams.filter((s) => !store.streams.includes(s));
  if (missing.length === 0) return sink;
  throw new UserInputError(
    `export sink ${name}: this store keeps no ${missing.join(' or ')} stream (it keeps ${store.streams.join(', ')}); remove ${missing.length === 1 ? 'it' : 'them'} from the sink's streams.`,
  );
}

/** The export store of a DuckDB store, or the one given. */
export function exportStoreOf(target: Store | ExportStore): ExportStore {
  return 'cursors' in target ? target : duckdbExportStore(target);
}

/** How far behind each registered sink is (what the export_lag alert kind watches). */
export async function exportLags(store: ExportStore): Promise<Array<{ sink: string; events: number; oldest: string | null }>> {
  const out = [];
  for (const { sink, streams } of await store.registered()) out.push({ sink, ...(await store.lag(await store.cursors(sink), streams)) });
  return out;
}
