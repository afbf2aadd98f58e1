import { sqlTime } from '../../clock.js';
import type { ExportStore, Page } from '../../export/export-store.js';
import type { AlertExportRow, AuditExportRow, ExecutionRow, Position, Stream } from '../export.js';
import type { ClickHouseDb } from './client.js';
import { countLateSteps } from './late-steps.js';

/**
 * The export of a ClickHouse store that several instances write to. Its streams are in storage
 * order: `stored_at`, the server's clock as each row landed (migration 6), then the row's key.
 * Rows of several writers land out of that order by as long as an insert takes to land, so a
 * sink reads only rows stored `settleMs` ago or more: one still on its way is never passed.
 *
 * Each execution's versions are rows of their own until a merge keeps the highest. As on DuckDB,
 * where a replaced execution is stored again, an execution is sent at the place of its current
 * version: a version is skipped once a higher one is stored (whenever it landed: a late copy of
 * a writer that lost a race, or a running record whose final one came), and of equal versions
 * only the first stored is sent. A sink that read a version before its replacement came sends
 * the replacement too, as on DuckDB. Only the instance holding a sink's lease writes its cursors
 * (exporter.ts); what each sink did is appended to `export_log`.
 *
 * Alert events (the history of alert states) are named by their transition (`uid`), since no
 * sequence numbers them across instances; their position is their storage time and key.
 */

const EXECUTION_COLUMNS = `execution_id, toUnixTimestamp64Micro(started_at) AS started_us, toUnixTimestamp64Micro(ended_at) AS ended_us, duration_ms,
  status, tool_name, tool_kind, tool_server, user_id, user_email, user_name, user_team, agent_client, agent_session_id,
  agent_workflow_run_id, environment, via_mcp, tasks, cost_usd, input, output, error_type, error_message, error_layer, step_count,
  source, toUnixTimestamp64Micro(ingested_at) AS ingested_us, toString(version) AS v, toString(stored_at) AS pos_at`;

type StoredExecution = Omit<ExecutionRow, 'started_at' | 'ended_at' | 'ingested_at'> & { started_us: number; ended_us: number | null; ingested_us: number; v: string };

/** A time ClickHouse returned as microseconds since the epoch, as DuckDB's export writes it (milliseconds, Z). */
const iso = (micros: number) => new Date(Math.floor(micros / 1000)).toISOString();

function executionRow({ started_us, ended_us, ingested_us, v: _v, ...row }: StoredExecution): ExecutionRow {
  return { ...row, started_at: iso(started_us), ended_at: ended_us === null ? null : iso(ended_us), ingested_at: iso(ingested_us) };
}

const AUDIT_COLUMNS = `chain_id, seq, toUnixTimestamp64Milli(at) AS at_ms, actor, role, action, target, reason, details, prev_hash, hash, toString(stored_at) AS pos_at`;

type StoredAudit = Omit<AuditExportRow, 'at'> & { at_ms: number; pos_at: string };

const auditRow = ({ at_ms, pos_at: _p, ...row }: StoredAudit): AuditExportRow => ({ ...row, at: new Date(at_ms).toISOString() });

/** The table behind each stream. */
const STREAM_TABLES: Record<Stream, string> = { executions: 'executions', audit: 'audit_events', alerts: 'alert_history' };

/** A stream's rows after a position in its storage order: the keyset condition (' AND ...') and its parameters; none without one. */
function following(stream: Stream, p: Position | undefined): { cond: string; params: Record<string, unknown> } {
  if (stream === 'executions' && p && 'id' in p) {
    return { cond: ` AND stored_at >= {at:DateTime64(6, 'UTC')} AND (stored_at, execution_id) > ({at:DateTime64(6, 'UTC')}, {id:String})`, params: { at: p.at, id: p.id } };
  }
  if (stream === 'audit' && p && 'chain' in p) {
    return { cond: ` AND (stored_at, chain_id, seq) > ({at:DateTime64(6, 'UTC')}, {chain:String}, {seq:UInt64})`, params: { at: p.at, chain: p.chain, seq: p.seq } };
  }
  if (stream === 'alerts' && p && 'id' in p) {
    const [rule, fingerprint, event_at, event] = JSON.parse(p.id) as [string, string, string, string];
    return {
      cond: ` AND (stored_at, rule, fingerprint, event_at, event) > ({at:DateTime64(6, 'UTC')}, {rule:String}, {fingerprint:String}, {event_at:DateTime64(6, 'UTC')}, {event:String})`,
      params: { at: p.at, rule, fingerprint, event_at, event },
    };
  }
  return { cond: '', params: {} };
}

/** An alert event's name: its transition, since no sequence numbers alert events across instances. */
const alertUid = (r: { fingerprint: string; event: string }, atMs: number) => `alert-${r.fingerprint}-${r.event}-${atMs}`;

/**
 * How long an instance's registration of its sinks counts: each serve renews it (EXPORT_REGISTRY_RENEW_MS),
 * so the sinks of an instance that is gone stop being watched by export_lag after this.
 */
export const EXPORT_REGISTRY_TTL_MS = 5 * 60_000;
export const EXPORT_REGISTRY_RENEW_MS = 60_000;

export function clickhouseExportStore(ch: ClickHouseDb, options: { settleMs: number; instance?: string }): ExportStore {
  const t = (table: string) => ch.t(table);
  const settled = `stored_at <= now64(6) - toIntervalMillisecond({settle:UInt64})`;
  const settle = options.settleMs;

  async function executionsAfter(after: Position | undefined, limit: number): Promise<Page<ExecutionRow>> {
    const { cond, params } = following('executions', after);
    // The page's order on the narrow columns first; the wide rows only for the versions kept.
    const page = await ch.all<{ id: string; v: string; at: string }>(
      `SELECT execution_id AS id, toString(version) AS v, toString(stored_at) AS at FROM ${t('executions')}
       WHERE ${settled}${cond} ORDER BY stored_at, execution_id, version LIMIT {limit:UInt32}`,
      { settle, limit, ...params },
    );
    if (page.length === 0) return { rows: [] };
    const last = page.at(-1)!;
    const position = { at: last.at, id: last.id };
    const ids = [...new Set(page.map((r) => r.id))];
    const versions = await ch.all<{ id: string; v: string; at: string }>(
      `SELECT execution_id AS id, toString(version) AS v, toString(stored_at) AS at FROM ${t('executions')} WHERE execution_id IN {ids:Array(String)}`,
      { ids },
    );
    const byId = new Map<string, Array<{ v: bigint; at: string }>>();
    for (const r of versions) byId.set(r.id, [...(byId.get(r.id) ?? []), { v: BigInt(r.v), at: r.at }]);
    // A higher version stored, or the same one stored earlier: sent at its own place instead.
    const outranked = (r: { id: string; v: string; at: string }) => {
      const v = BigInt(r.v);
      return (byId.get(r.id) ?? []).some((o) => o.v > v || (o.v === v && o.at < r.at));
    };
    const kept = page.filter((r) => !outranked(r));
    if (kept.length === 0) return { rows: [], position };
    const wide = await ch.all<StoredExecution>(
      `SELECT ${EXECUTION_COLUMNS} FROM ${t('executions')}
       WHERE execution_id IN {ids:Array(String)} AND stored_at >= {first:DateTime64(6, 'UTC')} AND stored_at <= {last:DateTime64(6, 'UTC')}`,
      { ids: [...new Set(kept.map((r) => r.id))], first: kept[0]!.at, last: last.at },
    );
    const found = new Map(wide.map((r) => [`${r.execution_id}|${r.v}|${r.pos_at}`, r]));
    const rows = kept.flatMap((r) => {
      const row = found.get(`${r.id}|${r.v}|${r.at}`);
      // Merged away since the page was read: a version that outranks it was stored, and is sent at its place.
      return row ? [executionRow(row)] : [];
    });
    // Steps OTLP added after the execution was stored count, as in DuckDB's step_count.
    return { rows: await countLateSteps(ch, rows), position };
  }

  async function auditAfter(after: Position | undefined, limit: number): Promise<Page<AuditExportRow>> {
    const { cond, params } = following('audit', after);
    const rows = await ch.all<StoredAudit>(
      `SELECT ${AUDIT_COLUMNS} FROM ${t('audit_events')} WHERE ${settled}${cond} ORDER BY stored_at, chain_id, seq LIMIT {limit:UInt32}`,
      { settle, limit, ...params },
    );
    const last = rows.at(-1);
    return { rows: rows.map(auditRow), ...(last ? { position: { at: last.pos_at, chain: last.chain_id!, seq: last.seq } } : {}) };
  }

  async function alertsAfter(after: Position | undefined, limit: number): Promise<Page<AlertExportRow>> {
    const { cond, params } = following('alerts', after);
    const rows = await ch.all<Omit<AlertExportRow, 'at'> & { at_ms: number; pos_at: string; event_pos: string }>(
      `SELECT rule, fingerprint, group_key, event, toUnixTimestamp64Milli(event_at) AS at_ms, severity, value, threshold, silenced, explanation,
              toString(stored_at) AS pos_at, toString(event_at) AS event_pos
       FROM ${t('alert_history')}
       WHERE ${settled}${cond} ORDER BY stored_at, rule, fingerprint, event_at, event LIMIT {limit:UInt32}`,
      { settle, limit, ...params },
    );
    const last = rows.at(-1);
    return {
      rows: rows.map(({ at_ms, pos_at: _p, event_pos: _e, ...r }) => ({ ...r, at: new Date(at_ms).toISOString(), uid: alertUid(r, at_ms) })),
      ...(last ? { position: { at: last.pos_at, id: JSON.stringify([last.rule, last.fingerprint, last.event_pos, last.event]) } } : {}),
    };
  }

  /** Each instance's latest registration of each sink, renewed within the registry's period ('' streams: retired). */
  const registrations = () =>
    ch.all<{ instance: string; sink: string; streams: string }>(
      `SELECT instance, sink, argMax(streams, registered_at) AS streams FROM ${t('export_sinks')}
       WHERE registered_at >= now64(6) - toIntervalMillisecond({ttl:UInt64}) GROUP BY instance, sink`,
      { ttl: EXPORT_REGISTRY_TTL_MS },
    );
  return {
    streams: ['executions', 'audit', 'alerts'],
    async cursors(sink) {
      const rows = await ch.all<{ stream: Stream; position: string }>(
        `SELECT stream, argMax(position, updated_at) AS position FROM ${t('export_cursors')} WHERE sink = {sink:String} GROUP BY stream`,
        { sink },
      );
      return new Map(rows.map((r) => [r.stream, JSON.parse(r.position) as Position]));
    },
    async ends() {
      // Everything stored before the settled edge is behind a sink that starts now; nothing after it.
      const row = await ch.one<{ at: string }>('SELECT toString(now64(6) - toIntervalMillisecond({settle:UInt64})) AS at', { settle });
      return new Map<Stream, Position>([
        ['executions', { at: row!.at, id: '' }],
        ['audit', { at: row!.at, chain: '', seq: 0 }],
        ['alerts', { at: row!.at, id: JSON.stringify(['', '', '0001-01-01 00:00:00.000000', '']) }],
      ]);
    },
    executionsAfter,
    auditAfter,
    alertsAfter,
    async advance(sink, positions, sent) {
      // The cursors first: a crash before the log row loses a count, never an event.
      await ch.insert('export_cursors', [...positions].map(([stream, position]) => ({ sink, stream, position: JSON.stringify(position) })));
      await ch.insert('export_log', [{ sink, sent, error: null }]);
    },
    recordError: (sink, message) => ch.insert('export_log', [{ sink, sent: 0, error: message }]),
    // Each instance registers its own sinks (and retires the ones it no longer has); a sink is
    // watched while some instance registered it lately.
    async register(sinks) {
      const instance = options.instance ?? 'unnamed';
      const had = (await registrations()).filter((r) => r.instance === instance && !sinks.some((s) => s.name === r.sink));
      await ch.insert('export_sinks', [
        ...sinks.map((s) => ({ instance, sink: s.name, streams: s.streams.join(',') })),
        ...had.map((r) => ({ instance, sink: r.sink, streams: '' })),
      ]);
    },
    async registered() {
      const bySink = new Map<string, Stream[]>();
      for (const r of await registrations()) if (r.streams) bySink.set(r.sink, [...new Set([...(bySink.get(r.sink) ?? []), ...(r.streams.split(',') as Stream[])])]);
      return [...bySink].sort(([a], [b]) => (a < b ? -1 : 1)).map(([sink, streams]) => ({ sink, streams }));
    },
    async statuses() {
      const rows = await ch.all<{ sink: string; sent: number; success_ms: number | null; error: string | null; error_ms: number | null }>(
        `SELECT sink, sum(sent) AS sent, toUnixTimestamp64Milli(maxIfOrNull(at, error IS NULL)) AS success_ms,
                argMaxIfOrNull(error, at, error IS NOT NULL) AS error, toUnixTimestamp64Milli(maxIfOrNull(at, error IS NOT NULL)) AS error_ms
         FROM ${t('export_log')} GROUP BY sink`,
      );
      const when = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
      return new Map(rows.map((r) => [r.sink, { sink: r.sink, sent: r.sent, last_success: when(r.success_ms), last_error: r.error, last_error_at: when(r.error_ms) }]));
    },
    async lag(positions, streams) {
      let events = 0;
      let oldest: number | null = null;
      for (const stream of streams) {
        const { cond, params } = following(stream, positions.get(stream));
        const row = await ch.one<{ n: number; oldest: number | null }>(
          `SELECT count() AS n, toUnixTimestamp64Milli(minOrNull(stored_at)) AS oldest FROM ${t(STREAM_TABLES[stream])} WHERE true${cond}`,
          params,
        );
        events += row?.n ?? 0;
        if (row?.oldest != null && (oldest === null || row.oldest < oldest)) oldest = row.oldest;
      }
      return { events, oldest: oldest === null ? null : new Date(oldest).toISOString() };
    },
    async executionsBetween(range, after, limit) {
      const rows = await ch.all<StoredExecution & { started_pos: string }>(
        `SELECT ${EXECUTION_COLUMNS}, toString(started_at) AS started_pos FROM ${t('executions')} FINAL
         WHERE started_at >= {from:DateTime64(6, 'UTC')} AND started_at < {to:DateTime64(6, 'UTC')}
           ${after ? `AND (started_at, execution_id) > ({at:DateTime64(6, 'UTC')}, {id:String})` : ''}
         ORDER BY started_at, execution_id LIMIT {limit:UInt32}`,
        { from: sqlTime(range.from), to: sqlTime(range.to), limit, ...(after ?? {}) },
      );
      return countLateSteps(ch, rows.map((r) => ({ ...executionRow(r), started_pos: r.started_pos })));
    },
    async auditBetween(range) {
      const rows = await ch.all<StoredAudit>(
        `SELECT ${AUDIT_COLUMNS} FROM ${t('audit_events')} WHERE at >= {from:DateTime64(3, 'UTC')} AND at < {to:DateTime64(3, 'UTC')} ORDER BY chain_id, seq`,
        { from: sqlTime(range.from), to: sqlTime(range.to) },
      );
      return rows.map(auditRow);
    },
    async alertsBetween(range) {
      const rows = await ch.all<Omit<AlertExportRow, 'at'> & { at_ms: number }>(
        `SELECT rule, fingerprint, group_key, event, toUnixTimestamp64Milli(event_at) AS at_ms, severity, value, threshold, silenced, explanation
         FROM ${t('alert_history')} WHERE event_at >= {from:DateTime64(6, 'UTC')} AND event_at < {to:DateTime64(6, 'UTC')} ORDER BY event_at, rule, fingerprint, event`,
        { from: sqlTime(range.from), to: sqlTime(range.to) },
      );
      return rows.map(({ at_ms, ...r }) => ({ ...r, at: new Date(at_ms).toISOString(), uid: alertUid(r, at_ms) }));
    },
  };
}
