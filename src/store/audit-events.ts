import { sqlTime } from '../clock.js';
import type { Db } from './store.js';

/** One audit event as stored. `details` is canonical JSON text (sorted keys). */
export interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  role: string;
  action: string;
  target: string | null;
  reason: string | null;
  details: string | null;
  prev_hash: string;
  hash: string;
}

/** The columns of an AuditRow, as every reader of the log selects them. */
export const AUDIT_ROW_COLUMNS = `seq::DOUBLE AS seq, iso(occurred_at) AS at, actor, role, action, target, reason, details::VARCHAR AS details, prev_hash, hash`;

export async function lastAuditEvent(db: Db): Promise<AuditRow | undefined> {
  return db.one<AuditRow>(`SELECT ${AUDIT_ROW_COLUMNS} FROM audit_events ORDER BY seq DESC LIMIT 1`);
}

/** Appends events in order, in the caller's transaction. */
export async function appendAuditEvents(db: Db, rows: readonly AuditRow[]): Promise<void> {
  for (const row of rows) {
    await db.run(
      `INSERT INTO audit_events VALUES ($seq, CAST($at AS TIMESTAMP), $actor, $role, $action, $target, $reason, $details, $prev_hash, $hash)`,
      { ...row, at: sqlTime(row.at) },
    );
  }
}

/** Whether the audit table exists: a dropped one is a broken log, not an internal error. */
export async function auditTableExists(db: Db): Promise<boolean> {
  const table = await db.one<{ n: number }>(
    "SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'audit_events'",
  );
  return Boolean(table?.n);
}

/** Every event in storage order (by seq), for verification. */
export async function allAuditEvents(db: Db): Promise<AuditRow[]> {
  return db.all<AuditRow>(`SELECT ${AUDIT_ROW_COLUMNS} FROM audit_events ORDER BY seq`);
}

export interface AuditQuery {
  from: string;
  to: string;
  actor?: string;
  action?: string;
  target?: string;
  limit: number;
}

/** A query's events, newest first; `chain_id` names each one's chain where a store keeps several. */
export interface AuditQueryResult {
  total: number;
  first: string | null;
  last: string | null;
  rows: Array<AuditRow & { chain_id?: string }>;
}

export async function queryAuditEvents(db: Db, q: AuditQuery): Promise<AuditQueryResult> {
  const params: Record<string, string | number> = { from: q.from, to: q.to, limit: q.limit };
  const where = ['occurred_at >= CAST($from AS TIMESTAMP)', 'occurred_at < CAST($to AS TIMESTAMP)'];
  for (const key of ['actor', 'action', 'target'] as const) {
    const value = q[key];
    if (value !== undefined) {
      params[key] = value;
      where.push(`${key} = $${key}`);
    }
  }
  const total = await db.one<{ n: number; first: string | null; last: string | null }>(
    `SELECT count(*)::INTEGER AS n, iso(min(occurred_at)) AS first, iso(max(occurred_at)) AS last FROM audit_events WHERE ${where.join(' AND ')}`,
    params,
  );
  const rows = await db.all<AuditRow>(
    `SELECT ${AUDIT_ROW_COLUMNS} FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT $limit`,
    params,
  );
  return { total: total?.n ?? 0, first: total?.first ?? null, last: total?.last ?? null, rows };
}
