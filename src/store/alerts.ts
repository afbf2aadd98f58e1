import { sqlTime } from '../clock.js';
import type { Db } from './store.js';

/**
 * The alerting tables (migration 13): rules as JSON, alert states, their history, silences and
 * the notification queue with its delivery log. Data in, typed rows out; what they mean lives in
 * src/alerts.
 */

export interface StoredRule {
  name: string;
  kind: string;
  rule: string;
  origin: 'tool' | 'file';
  updated_by: string;
  created_at: string;
  updated_at: string;
}

const RULE_COLUMNS = 'name, kind, rule::VARCHAR AS rule, origin, updated_by, iso(created_at) AS created_at, iso(updated_at) AS updated_at';

export async function ruleRows(db: Db): Promise<StoredRule[]> {
  return db.all<StoredRule>(`SELECT ${RULE_COLUMNS} FROM alert_rules ORDER BY name`);
}

export async function ruleRow(db: Db, name: string): Promise<StoredRule | undefined> {
  return db.one<StoredRule>(`SELECT ${RULE_COLUMNS} FROM alert_rules WHERE name = $name`, { name });
}

export async function putRule(db: Db, row: { name: string; kind: string; rule: string; origin: 'tool' | 'file'; by: string; at: Date }): Promise<void> {
  await db.run(
    `INSERT INTO alert_rules VALUES ($name, $kind, $rule, $origin, $by, CAST($at AS TIMESTAMP), CAST($at AS TIMESTAMP))
     ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, rule = excluded.rule, origin = excluded.origin,
       updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
    { ...row, at: sqlTime(row.at) },
  );
}

/** Removes a rule with its alerts' states and its evaluation tick; history and notifications stay. */
export async function removeRule(db: Db, name: string): Promise<boolean> {
  const found = await db.one<{ n: number }>('SELECT count(*)::INTEGER AS n FROM alert_rules WHERE name = $name', { name });
  if (!found?.n) return false;
  await db.run('DELETE FROM alert_rules WHERE name = $name', { name });
  await db.run('DELETE FROM alert_states WHERE rule = $name', { name });
  await db.run('DELETE FROM alert_ticks WHERE rule = $name', { name });
  return true;
}

export interface TickRow {
  rule: string;
  last_tick: string;
  last_error: string | null;
  duration_ms: number;
}

export async function tickRows(db: Db): Promise<TickRow[]> {
  return db.all<TickRow>('SELECT rule, iso(last_tick) AS last_tick, last_error, duration_ms FROM alert_ticks');
}

export async function putTick(db: Db, row: { rule: string; at: Date; error: string | null; durationMs: number }): Promise<void> {
  await db.run(
    `INSERT INTO alert_ticks VALUES ($rule, CAST($at AS TIMESTAMP), $error, $duration)
     ON CONFLICT (rule) DO UPDATE SET last_tick = excluded.last_tick, last_error = excluded.last_error, duration_ms = excluded.duration_ms`,
    { rule: row.rule, at: sqlTime(row.at), error: row.error, duration: row.durationMs },
  );
}

export interface StateRow {
  fingerprint: string;
  rule: string;
  group_key: string;
  state: string;
  explanation: string | null;
}

export async function stateRows(db: Db, rule?: string): Promise<StateRow[]> {
  return db.all<StateRow>(
    `SELECT fingerprint, rule, group_key, state::VARCHAR AS state, explanation::VARCHAR AS explanation FROM alert_states
     ${rule === undefined ? '' : 'WHERE rule = $rule'} ORDER BY rule, group_key`,
    rule === undefined ? {} : { rule },
  );
}

/** Replaces the states of the given fingerprints (null: the alert is gone, a pending one that never fired). */
export async function putStates(db: Db, rows: Array<{ fingerprint: string; rule: string; group: string; state: string | null; explanation?: string | null }>, at: Date): Promise<void> {
  for (const row of rows) {
    if (row.state === null) {
      await db.run('DELETE FROM alert_states WHERE fingerprint = $fingerprint', { fingerprint: row.fingerprint });
      continue;
    }
    await db.run(
      `INSERT INTO alert_states VALUES ($fingerprint, $rule, $group, $state, $explanation, CAST($at AS TIMESTAMP))
       ON CONFLICT (fingerprint) DO UPDATE SET state = excluded.state,
         explanation = coalesce(excluded.explanation, alert_states.explanation), updated_at = excluded.updated_at`,
      { fingerprint: row.fingerprint, rule: row.rule, group: row.group, state: row.state, explanation: row.explanation ?? null, at: sqlTime(at) },
    );
  }
}

export interface HistoryRow {
  rule: string;
  fingerprint: string;
  group_key: string;
  event: string;
  at: string;
  severity: string;
  value: number | null;
  threshold: number | null;
  silenced: boolean;
  explanation: string | null;
}

export async function appendHistory(db: Db, rows: readonly HistoryRow[]): Promise<void> {
  for (const row of rows) {
    await db.run(
      `INSERT INTO alert_history VALUES ($rule, $fingerprint, $group_key, $event, CAST($at AS TIMESTAMP), $severity, $value, $threshold, $silenced, $explanation, nextval('alert_history_seq'))`,
      { ...row, at: sqlTime(row.at) },
    );
  }
}

export async function historyRows(db: Db, args: { from: Date; to: Date; rule?: string; limit: number }): Promise<HistoryRow[]> {
  return db.all<HistoryRow>(
    `SELECT rule, fingerprint, group_key, event, iso(event_at) AS at, severity, value, threshold, silenced, explanation::VARCHAR AS explanation
     FROM alert_history WHERE event_at >= CAST($from AS TIMESTAMP) AND event_at < CAST($to AS TIMESTAMP) ${args.rule ? 'AND rule = $rule' : ''}
     ORDER BY event_at DESC, rule, group_key LIMIT $limit`,
    { from: sqlTime(args.from), to: sqlTime(args.to), limit: args.limit, ...(args.rule ? { rule: args.rule } : {}) },
  );
}

export interface SilenceRow {
  id: string;
  rule: string;
  group_key: string | null;
  ends_at: string;
  reason: string;
  created_by: string;
  created_at: string;
}

export async function putSilence(db: Db, row: Omit<SilenceRow, 'ends_at' | 'created_at'> & { ends_at: Date; created_at: Date }): Promise<void> {
  await db.run(
    `INSERT INTO alert_silences VALUES ($id, $rule, $group_key, CAST($ends_at AS TIMESTAMP), $reason, $created_by, CAST($created_at AS TIMESTAMP))`,
    { ...row, ends_at: sqlTime(row.ends_at), created_at: sqlTime(row.created_at) },
  );
}

/** Silences still in force at `at`. */
export async function silenceRows(db: Db, at: Date): Promise<SilenceRow[]> {
  return db.all<SilenceRow>(
    `SELECT id, rule, group_key, iso(ends_at) AS ends_at, reason, created_by, iso(created_at) AS created_at
     FROM alert_silences WHERE ends_at > CAST($at AS TIMESTAMP) ORDER BY ends_at`,
    { at: sqlTime(at) },
  );
}

export interface NotificationRow {
  id: string;
  channel: string;
  rule: string;
  fingerprint: string;
  event: string;
  at: string;
  message: string;
  created_at: string;
  attempts: number;
  next_attempt_at: string | null;
  delivered_at: string | null;
  last_status: number | null;
  last_error: string | null;
}

const NOTIFICATION_COLUMNS = `id, channel, rule, fingerprint, event, iso(event_at) AS at, message::VARCHAR AS message, iso(created_at) AS created_at,
  attempts, iso(next_attempt_at) AS next_attempt_at, iso(delivered_at) AS delivered_at, last_status, last_error`;

export async function enqueueNotifications(db: Db, rows: ReadonlyArray<{ id: string; channel: string; rule: string; fingerprint: string; event: string; at: Date; message: string; created_at: Date }>): Promise<void> {
  for (const row of rows) {
    await db.run(
      `INSERT INTO alert_notifications VALUES ($id, $channel, $rule, $fingerprint, $event, CAST($at AS TIMESTAMP), $message,
         CAST($created_at AS TIMESTAMP), 0, CAST($created_at AS TIMESTAMP), NULL, NULL, NULL) ON CONFLICT (id) DO NOTHING`,
      { ...row, at: sqlTime(row.at), created_at: sqlTime(row.created_at) },
    );
  }
}

/**
 * Notifications whose next attempt is due, oldest first, and in order per channel: one waiting
 * for a retry holds back the later ones of its channel, so a receiver never hears an alert
 * resolve before it heard it fire.
 */
export async function dueNotifications(db: Db, now: Date, limit: number): Promise<NotificationRow[]> {
  return db.all<NotificationRow>(
    `SELECT ${NOTIFICATION_COLUMNS} FROM alert_notifications n
     WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL AND next_attempt_at <= CAST($now AS TIMESTAMP)
       AND NOT EXISTS (
         SELECT 1 FROM alert_notifications e
         WHERE e.channel = n.channel AND e.delivered_at IS NULL AND e.next_attempt_at > CAST($now AS TIMESTAMP)
           AND (e.created_at < n.created_at OR (e.created_at = n.created_at AND (e.event_at < n.event_at OR (e.event_at = n.event_at AND e.id < n.id)))))
     ORDER BY created_at, event_at, id LIMIT $limit`,
    { now: sqlTime(now), limit },
  );
}

/** The soonest next attempt of a notification still owed, for the delivery loop's sleep. */
export async function nextAttemptAt(db: Db): Promise<string | null> {
  const row = await db.one<{ at: string | null }>(
    'SELECT iso(min(next_attempt_at)) AS at FROM alert_notifications WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL',
  );
  return row?.at ?? null;
}

export async function recordAttempt(
  db: Db,
  row: { id: string; attempt: number; at: Date; status: number | null; error: string | null; durationMs: number; delivered: boolean; nextAttemptAt: Date | null },
): Promise<void> {
  await db.run(
    `INSERT INTO alert_deliveries VALUES ($id, $attempt, CAST($at AS TIMESTAMP), $status, $error, $duration)`,
    { id: row.id, attempt: row.attempt, at: sqlTime(row.at), status: row.status, error: row.error, duration: row.durationMs },
  );
  await db.run(
    `UPDATE alert_notifications SET attempts = $attempt, last_status = $status, last_error = $error,
       delivered_at = CASE WHEN $delivered THEN CAST($at AS TIMESTAMP) END,
       next_attempt_at = CAST($next AS TIMESTAMP)
     WHERE id = $id`,
    { id: row.id, attempt: row.attempt, at: sqlTime(row.at), status: row.status, error: row.error, delivered: row.delivered, next: row.nextAttemptAt ? sqlTime(row.nextAttemptAt) : null },
  );
}

export async function notificationRows(db: Db, args: { limit: number; rule?: string; undelivered?: boolean }): Promise<NotificationRow[]> {
  const where = [args.rule ? 'rule = $rule' : '', args.undelivered ? 'delivered_at IS NULL' : ''].filter(Boolean);
  return db.all<NotificationRow>(
    `SELECT ${NOTIFICATION_COLUMNS} FROM alert_notifications ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at DESC, event_at DESC, id LIMIT $limit`,
    { limit: args.limit, ...(args.rule ? { rule: args.rule } : {}) },
  );
}

export interface DeliveryRow {
  notification_id: string;
  attempt: number;
  at: string;
  status: number | null;
  error: string | null;
  duration_ms: number;
}

export async function deliveryRows(db: Db, notificationId: string): Promise<DeliveryRow[]> {
  return db.all<DeliveryRow>(
    `SELECT notification_id, attempt, iso(attempted_at) AS at, status, error, duration_ms FROM alert_deliveries WHERE notification_id = $id ORDER BY attempt`,
    { id: notificationId },
  );
}

/** For /healthz: rules, alerts firing, notifications owed (and the oldest), rules whose last evaluation failed. */
export async function alertHealth(db: Db): Promise<{ rules: number; firing: number; notifications_owed: number; oldest_owed: string | null; failing_rules: number }> {
  const row = await db.one<{ rules: number; firing: number; owed: number; oldest: string | null; failing: number }>(
    `SELECT (SELECT count(*) FROM alert_rules)::INTEGER AS rules,
            (SELECT count(*) FROM alert_states WHERE json_extract_string(state, '$.status') = 'firing')::INTEGER AS firing,
            (SELECT count(*) FROM alert_notifications WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL)::INTEGER AS owed,
            (SELECT iso(min(created_at)) FROM alert_notifications WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL) AS oldest,
            (SELECT count(*) FROM alert_ticks WHERE last_error IS NOT NULL)::INTEGER AS failing`,
  );
  return { rules: row?.rules ?? 0, firing: row?.firing ?? 0, notifications_owed: row?.owed ?? 0, oldest_owed: row?.oldest ?? null, failing_rules: row?.failing ?? 0 };
}
