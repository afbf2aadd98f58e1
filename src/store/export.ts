import { sqlTime } from '../clock.js';
import { AUDIT_ROW_COLUMNS, type AuditRow } from './audit-events.js';
import type { HistoryRow } from './alerts.js';
import type { Db } from './store.js';

/**
 * What the export sinks read, in a stable order, from after a position: the executions in the
 * order they were stored (ingested_at, a transaction's start on the wall clock, then id; a
 * replaced execution is stored again, so its final record is exported again), audit events by
 * sequence, alert events by sequence. And the cursors and status of each sink.
 */

export const STREAMS = ['executions', 'audit', 'alerts'] as const;
export type Stream = (typeof STREAMS)[number];

/**
 * Where a sink has got to in a stream: stored as text, compared in the stream's own order. On
 * ClickHouse, audit events are in storage order across the instances' chains (a chain and its seq).
 */
export type Position = { at: string; id: string } | { seq: number } | { at: string; chain: string; seq: number };

export interface ExecutionRow {
  execution_id: string;
  started_at: string;
  ended_at: string | null;
  duration_ms: number | null;
  status: string;
  tool_name: string;
  tool_kind: string;
  tool_server: string | null;
  user_id: string;
  user_email: string | null;
  user_name: string | null;
  user_team: string | null;
  agent_client: string | null;
  agent_session_id: string | null;
  agent_workflow_run_id: string | null;
  environment: string | null;
  via_mcp: boolean;
  tasks: number;
  cost_usd: number | null;
  input: string | null;
  output: string | null;
  error_type: string | null;
  error_message: string | null;
  error_layer: string | null;
  step_count: number;
  source: string;
  ingested_at: string;
  /** Its position in storage order (ingested_at to the microsecond). */
  pos_at: string;
  /** Its position in time order (started_at to the microsecond), in a replay. */
  started_pos?: string;
}

/** An audit event as the export reads it: the stored row, chain fields included (and on ClickHouse, which instance's chain). */
export type AuditExportRow = AuditRow & { chain_id?: string };

/** An alert event as the export reads it: its history row and its place in the stream. */
export interface AlertExportRow extends HistoryRow {
  /** Its place in the stream (DuckDB's sequence); a ClickHouse store has none, and names the event by `uid`. */
  seq?: number;
  uid?: string;
}

const EXECUTION_COLUMNS = `execution_id, iso(started_at) AS started_at, iso(ended_at) AS ended_at, duration_ms, status, tool_name, tool_kind,
  tool_server, user_id, user_email, user_name, user_team, agent_client, agent_session_id, agent_workflow_run_id, environment,
  via_mcp, tasks, cost_usd, input::VARCHAR AS input, output::VARCHAR AS output, error_type, error_message, error_layer, step_count,
  source, iso(ingested_at) AS ingested_at, strftime(ingested_at, '%Y-%m-%d %H:%M:%S.%f') AS pos_at`;


const ALERT_COLUMNS = `seq::DOUBLE AS seq, rule, fingerprint, group_key, event, iso(event_at) AS at, severity, value, threshold, silenced, explanation::VARCHAR AS explanation`;

/**
 * The executions stored after `after` (null: from the start), in storage order. The order and
 * limit are found on the two narrow columns first, then only those rows are read whole: ordering
 * the wide rows themselves read every payload after the cursor, 300 ms a batch at 1.4M
 * executions stored in a few transactions, against 30 ms so.
 */
export async function executionsAfter(db: Db, after: { at: string; id: string } | null, limit: number): Promise<ExecutionRow[]> {
  // The first condition alone lets zone maps skip what was stored before the cursor.
  const where = after ? 'WHERE ingested_at >= CAST($at AS TIMESTAMP) AND (ingested_at > CAST($at AS TIMESTAMP) OR execution_id > $id)' : '';
  return db.all<ExecutionRow>(
    `WITH next AS (SELECT ingested_at, execution_id FROM executions ${where} ORDER BY ingested_at, execution_id LIMIT $limit)
     SELECT ${EXECUTION_COLUMNS} FROM executions JOIN next USING (ingested_at, execution_id)
     WHERE ingested_at >= (SELECT min(ingested_at) FROM next) AND ingested_at <= (SELECT max(ingested_at) FROM next)
     ORDER BY ingested_at, execution_id`,
    { limit, ...(after ? { at: after.at, id: after.id } : {}) },
  );
}

/** Where each stream ends now: a sink that starts at "now" begins here. */
export async function streamEnds(db: Db): Promise<Map<Stream, Position>> {
  const ends = new Map<Stream, Position>();
  const last = await db.one<{ at: string; id: string }>(
    "SELECT strftime(ingested_at, '%Y-%m-%d %H:%M:%S.%f') AS at, execution_id AS id FROM executions ORDER BY ingested_at DESC, execution_id DESC LIMIT 1",
  );
  if (last) ends.set('executions', last);
  ends.set('audit', { seq: (await db.one<{ n: number }>('SELECT coalesce(max(seq), 0)::DOUBLE AS n FROM audit_events'))?.n ?? 0 });
  ends.set('alerts', { seq: (await db.one<{ n: number }>('SELECT coalesce(max(seq), 0)::DOUBLE AS n FROM alert_history'))?.n ?? 0 });
  return ends;
}

export async function auditAfter(db: Db, seq: number, limit: number): Promise<AuditExportRow[]> {
  return db.all<AuditExportRow>(`SELECT ${AUDIT_ROW_COLUMNS} FROM audit_events WHERE seq > $seq ORDER BY seq LIMIT $limit`, { seq, limit });
}

export async function alertEventsAfter(db: Db, seq: number, limit: number): Promise<AlertExportRow[]> {
  return db.all<AlertExportRow>(`SELECT ${ALERT_COLUMNS} FROM alert_history WHERE seq > $seq ORDER BY seq LIMIT $limit`, { seq, limit });
}

/** A past range for a replay, by when things happened (started), after a keyset position; narrow columns first, as executionsAfter. */
export async function executionsBetween(db: Db, range: { from: Date; to: Date }, after: { at: string; id: string } | null, limit: number): Promise<ExecutionRow[]> {
  const keyset = after ? 'AND (started_at > CAST($at AS TIMESTAMP) OR (started_at = CAST($at AS TIMESTAMP) AND execution_id > $id))' : '';
  return db.all<ExecutionRow>(
    `WITH next AS (
       SELECT started_at, execution_id FROM executions
       WHERE started_at >= CAST($from AS TIMESTAMP) AND started_at < CAST($to AS TIMESTAMP) ${keyset}
       ORDER BY started_at, execution_id LIMIT $limit)
     SELECT ${EXECUTION_COLUMNS}, strftime(started_at, '%Y-%m-%d %H:%M:%S.%f') AS started_pos FROM executions JOIN next USING (started_at, execution_id)
     WHERE started_at >= (SELECT min(started_at) FROM next) AND started_at <= (SELECT max(started_at) FROM next)
     ORDER BY started_at, execution_id`,
    { from: sqlTime(range.from), to: sqlTime(range.to), limit, ...(after ? { at: after.at, id: after.id } : {}) },
  );
}

export async function auditBetween(db: Db, range: { from: Date; to: Date }): Promise<AuditExportRow[]> {
  return db.all<AuditExportRow>(
    `SELECT ${AUDIT_ROW_COLUMNS} FROM audit_events WHERE occurred_at >= CAST($from AS TIMESTAMP) AND occurred_at < CAST($to AS TIMESTAMP) ORDER BY seq`,
    { from: sqlTime(range.from), to: sqlTime(range.to) },
  );
}

export async function alertEventsBetween(db: Db, range: { from: Date; to: Date }): Promise<AlertExportRow[]> {
  return db.all<AlertExportRow>(
    `SELECT ${ALERT_COLUMNS} FROM alert_history WHERE event_at >= CAST($from AS TIMESTAMP) AND event_at < CAST($to AS TIMESTAMP) ORDER BY seq`,
    { from: sqlTime(range.from), to: sqlTime(range.to) },
  );
}

export async function cursorRows(db: Db, sink: string): Promise<Map<Stream, Position>> {
  const rows = await db.all<{ stream: Stream; position: string }>('SELECT stream, position FROM export_cursors WHERE sink = $sink', { sink });
  return new Map(rows.map((r) => [r.stream, JSON.parse(r.position) as Position]));
}

/** Advances a sink's cursors and counts what it sent, in one transaction, after the receiver acknowledged. */
export async function advanceCursors(db: Db, sink: string, positions: ReadonlyMap<Stream, Position>, sent: number, at: Date): Promise<void> {
  for (const [stream, position] of positions) {
    await db.run(
      `INSERT INTO export_cursors VALUES ($sink, $stream, $position, CAST($at AS TIMESTAMP))
       ON CONFLICT (sink, stream) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
      { sink, stream, position: JSON.stringify(position), at: sqlTime(at) },
    );
  }
  await db.run(
    `INSERT INTO export_status VALUES ($sink, NULL, CAST($at AS TIMESTAMP), NULL, NULL, $sent)
     ON CONFLICT (sink) DO UPDATE SET last_success = excluded.last_success, sent = export_status.sent + excluded.sent`,
    { sink, at: sqlTime(at), sent },
  );
}

export async function recordExportError(db: Db, sink: string, error: string, at: Date): Promise<void> {
  await db.run(
    `INSERT INTO export_status VALUES ($sink, NULL, NULL, $error, CAST($at AS TIMESTAMP), 0)
     ON CONFLICT (sink) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at`,
    { sink, error, at: sqlTime(at) },
  );
}

/** A sink as configured now (its streams), so that the alert on export lag knows what it owes. */
export async function registerSink(db: Db, sink: string, streams: readonly Stream[]): Promise<void> {
  await db.run(
    `INSERT INTO export_status VALUES ($sink, $streams, NULL, NULL, NULL, 0)
     ON CONFLICT (sink) DO UPDATE SET streams = excluded.streams`,
    { sink, streams: streams.join(',') },
  );
}

/** Sinks no longer configured keep their cursors (a sink put back resumes) but owe nothing: no lag, no alert. */
export async function retireSinksExcept(db: Db, keep: readonly string[]): Promise<void> {
  // Sink names are letters, digits, _ . and - (sinks.ts): a comma cannot be one.
  await db.run("UPDATE export_status SET streams = NULL WHERE streams IS NOT NULL AND NOT list_contains(string_split($keep, ','), sink)", { keep: keep.join(',') });
}

/** Every sink the running serve has configured, with its streams. */
export async function registeredSinks(db: Db): Promise<Array<{ sink: string; streams: Stream[] }>> {
  const rows = await db.all<{ sink: string; streams: string | null }>('SELECT sink, streams FROM export_status WHERE streams IS NOT NULL ORDER BY sink');
  return rows.map((r) => ({ sink: r.sink, streams: r.streams!.split(',') as Stream[] }));
}

export interface SinkStatusRow {
  sink: string;
  last_success: string | null;
  last_error: string | null;
  last_error_at: string | null;
  sent: number;
}

export async function sinkStatusRows(db: Db): Promise<SinkStatusRow[]> {
  return db.all<SinkStatusRow>(
    `SELECT sink, iso(last_success) AS last_success, last_error, iso(last_error_at) AS last_error_at, sent::DOUBLE AS sent FROM export_status ORDER BY sink`,
  );
}

/** How far a sink is behind in each stream: events not yet sent, and since when the oldest waits. */
export async function lagOf(db: Db, positions: ReadonlyMap<Stream, Position>, streams: readonly Stream[]): Promise<{ events: number; oldest: string | null }> {
  let events = 0;
  let oldest: string | null = null;
  const older = (t: string | null) => {
    if (t && (!oldest || t < oldest)) oldest = t;
  };
  for (const stream of streams) {
    const position = positions.get(stream);
    if (stream === 'executions') {
      const after = position && 'id' in position ? position : null;
      const row = await db.one<{ n: number; oldest: string | null }>(
        after
          ? `SELECT count(*)::DOUBLE AS n, iso(min(ingested_at)) AS oldest FROM executions
             WHERE ingested_at >= CAST($at AS TIMESTAMP) AND (ingested_at > CAST($at AS TIMESTAMP) OR execution_id > $id)`
          : 'SELECT count(*)::DOUBLE AS n, iso(min(ingested_at)) AS oldest FROM executions',
        after ? { at: after.at, id: after.id } : {},
      );
      events += row?.n ?? 0;
      older(row?.oldest ?? null);
    } else {
      const seq = position && 'seq' in position ? position.seq : 0;
      const table = stream === 'audit' ? 'audit_events' : 'alert_history';
      const time = stream === 'audit' ? 'occurred_at' : 'event_at';
      const row = await db.one<{ n: number; oldest: string | null }>(`SELECT count(*)::DOUBLE AS n, iso(min(${time})) AS oldest FROM ${table} WHERE seq > $seq`, { seq });
      events += row?.n ?? 0;
      older(row?.oldest ?? null);
    }
  }
  return { events, oldest };
}
