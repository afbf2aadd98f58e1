import type { AlertStore } from '../../alerts/alert-store.js';
import type { AnalyticsBackend } from '../../analytics/backend.js';
import { sqlTime } from '../../clock.js';
import type { DeliveryRow, HistoryRow, NotificationRow, SilenceRow, StateRow, StoredRule, TickRow } from '../alerts.js';
import type { ClickHouseDb } from './client.js';

/**
 * Alerting's state in a ClickHouse store (migration 7). Rules, ticks, alert states and the
 * notification queue are versioned rows (ReplacingMergeTree by the server's time as they land):
 * a change is a new row, a removal a row marked deleted, and reads take each key's latest (FINAL).
 * History, silences and delivery attempts are appended. Rules and silences may be written by any
 * instance (the tools); states, ticks, history and the queue only by the instance that holds the
 * alerting lease, so no two writers race on one key.
 */

const ms = (column: string) => `toUnixTimestamp64Milli(${column})`;
const iso = (value: number | null | undefined): string | null => (value == null ? null : new Date(value).toISOString());
const t = (value: Date) => sqlTime(value);

type RuleRaw = Omit<StoredRule, 'created_at' | 'updated_at'> & { created_ms: number; updated_ms: number };
type NotificationRaw = Omit<NotificationRow, 'at' | 'created_at' | 'next_attempt_at' | 'delivered_at'> & { at_ms: number; created_ms: number; next_ms: number | null; delivered_ms: number | null };

const RULE_COLUMNS = `name, kind, rule, origin, updated_by, ${ms('created_at')} AS created_ms, ${ms('updated_at')} AS updated_ms`;
const NOTIFICATION_COLUMNS = `id, channel, rule, fingerprint, event, ${ms('event_at')} AS at_ms, message, ${ms('created_at')} AS created_ms, attempts,
  ${ms('next_attempt_at')} AS next_ms, ${ms('delivered_at')} AS delivered_ms, last_status, last_error`;

const ruleRow = ({ created_ms, updated_ms, ...r }: RuleRaw): StoredRule => ({ ...r, created_at: iso(created_ms)!, updated_at: iso(updated_ms)! });
const notificationRow = ({ at_ms, created_ms, next_ms, delivered_ms, ...r }: NotificationRaw): NotificationRow => ({
  ...r, at: iso(at_ms)!, created_at: iso(created_ms)!, next_attempt_at: iso(next_ms), delivered_at: iso(delivered_ms),
});

export function clickhouseAlertStore(ch: ClickHouseDb, analytics: AnalyticsBackend): AlertStore {
  const table = (name: string) => ch.t(name);

  async function rule(name: string): Promise<StoredRule | undefined> {
    const row = await ch.one<RuleRaw>(`SELECT ${RULE_COLUMNS} FROM ${table('alert_rules')} FINAL WHERE name = {name:String} AND NOT deleted`, { name });
    return row && ruleRow(row);
  }

  async function states(rule?: string): Promise<StateRow[]> {
    return ch.all<StateRow>(
      `SELECT fingerprint, rule, group_key, state, explanation FROM ${table('alert_states')} FINAL
       WHERE NOT deleted${rule === undefined ? '' : ' AND rule = {rule:String}'} ORDER BY rule, group_key`,
      rule === undefined ? {} : { rule },
    );
  }

  async function notificationsOwed(): Promise<NotificationRow[]> {
    const rows = await ch.all<NotificationRaw>(
      `SELECT ${NOTIFICATION_COLUMNS} FROM ${table('alert_notifications')} FINAL WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL`,
    );
    return rows.map(notificationRow);
  }

  const byQueueOrder = (a: NotificationRow, b: NotificationRow) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

  return {
    analytics,
    async rules() {
      return (await ch.all<RuleRaw>(`SELECT ${RULE_COLUMNS} FROM ${table('alert_rules')} FINAL WHERE NOT deleted ORDER BY name`)).map(ruleRow);
    },
    rule,
    async putRule(row) {
      const existing = await rule(row.name);
      await ch.insert('alert_rules', [{
        name: row.name, kind: row.kind, rule: row.rule, origin: row.origin, updated_by: row.by,
        created_at: existing ? t(new Date(existing.created_at)) : t(row.at), updated_at: t(row.at), deleted: false,
      }]);
    },
    async removeRule(name) {
      const existing = await rule(name);
      if (!existing) return false;
      const gone = await states(name);
      await ch.insert('alert_rules', [{ ...existing, created_at: t(new Date(existing.created_at)), updated_at: t(new Date(existing.updated_at)), deleted: true }]);
      await ch.insert('alert_states', gone.map((s) => ({ ...s, updated_at: t(new Date()), deleted: true })));
      await ch.insert('alert_ticks', [{ rule: name, last_tick: t(new Date(0)), last_error: null, duration_ms: 0, deleted: true }]);
      return true;
    },
    async ticks() {
      const rows = await ch.all<Omit<TickRow, 'last_tick'> & { tick_ms: number }>(
        `SELECT rule, ${ms('last_tick')} AS tick_ms, last_error, duration_ms FROM ${table('alert_ticks')} FINAL WHERE NOT deleted`,
      );
      return rows.map(({ tick_ms, ...r }) => ({ ...r, last_tick: iso(tick_ms)! }));
    },
    putTick: (row) => ch.insert('alert_ticks', [{ rule: row.rule, last_tick: t(row.at), last_error: row.error, duration_ms: row.durationMs, deleted: false }]),
    states,
    async history(args) {
      const rows = await ch.all<Omit<HistoryRow, 'at'> & { at_ms: number }>(
        `SELECT rule, fingerprint, group_key, event, ${ms('event_at')} AS at_ms, severity, value, threshold, silenced, explanation FROM ${table('alert_history')}
         WHERE event_at >= {from:DateTime64(6, 'UTC')} AND event_at < {to:DateTime64(6, 'UTC')}${args.rule ? ' AND rule = {rule:String}' : ''}
         ORDER BY event_at DESC, rule, group_key LIMIT {limit:UInt32}`,
        { from: t(args.from), to: t(args.to), limit: args.limit, ...(args.rule ? { rule: args.rule } : {}) },
      );
      return rows.map(({ at_ms, ...r }) => ({ ...r, at: iso(at_ms)! }));
    },
    putSilence: (row) => ch.insert('alert_silences', [{ ...row, ends_at: t(row.ends_at), created_at: t(row.created_at) }]),
    async silences(at) {
      const rows = await ch.all<Omit<SilenceRow, 'ends_at' | 'created_at'> & { ends_ms: number; created_ms: number }>(
        `SELECT id, rule, group_key, ${ms('ends_at')} AS ends_ms, reason, created_by, ${ms('created_at')} AS created_ms FROM ${table('alert_silences')}
         WHERE ends_at > {at:DateTime64(6, 'UTC')} ORDER BY ends_at`,
        { at: t(at) },
      );
      return rows.map(({ ends_ms, created_ms, ...r }) => ({ ...r, ends_at: iso(ends_ms)!, created_at: iso(created_ms)! }));
    },
    async commitEvaluation(e) {
      // No transaction: what is owed first, the states and the tick after. A crash in between
      // evaluates the same ticks again: their notifications are sent twice, never lost.
      await ch.insert('alert_history', e.history.map((h) => ({ ...h, event_at: t(new Date(h.at)) })));
      await ch.insert('alert_notifications', e.notifications.map((n) => ({
        id: n.id, channel: n.channel, rule: n.rule, fingerprint: n.fingerprint, event: n.event, event_at: t(n.at), message: n.message,
        created_at: t(n.created_at), attempts: 0, next_attempt_at: t(n.created_at), delivered_at: null, last_status: null, last_error: null,
      })));
      // A state keeps the explanation it fired with until a new one comes.
      const kept = e.states.some((s) => s.state !== null && !s.explanation)
        ? new Map((await states(e.tick.rule)).map((s) => [s.fingerprint, s.explanation]))
        : new Map<string, string | null>();
      await ch.insert('alert_states', e.states.map((s) => ({
        fingerprint: s.fingerprint, rule: s.rule, group_key: s.group, state: s.state ?? '{}', explanation: s.explanation ?? kept.get(s.fingerprint) ?? null,
        updated_at: t(e.at), deleted: s.state === null,
      })));
      await ch.insert('alert_ticks', [{ rule: e.tick.rule, last_tick: t(e.tick.at), last_error: null, duration_ms: 0, deleted: false }]);
    },
    async dueNotifications(now, limit) {
      // As DuckDB's query: due, and no earlier notification of its channel waiting for a retry.
      const owed = (await notificationsOwed()).sort(byQueueOrder);
      const nowIso = now.toISOString();
      const held = new Set<string>();
      const due: NotificationRow[] = [];
      for (const n of owed) {
        if (n.next_attempt_at! > nowIso) held.add(n.channel);
        else if (!held.has(n.channel)) due.push(n);
      }
      return due.slice(0, limit);
    },
    async nextAttemptAt() {
      const owed = await notificationsOwed();
      return owed.reduce<string | null>((min, n) => (min === null || n.next_attempt_at! < min ? n.next_attempt_at : min), null);
    },
    async recordAttempt(row) {
      await ch.insert('alert_deliveries', [{ notification_id: row.id, attempt: row.attempt, attempted_at: t(row.at), status: row.status, error: row.error, duration_ms: row.durationMs }]);
      const current = await ch.one<NotificationRaw>(`SELECT ${NOTIFICATION_COLUMNS} FROM ${table('alert_notifications')} FINAL WHERE id = {id:String}`, { id: row.id });
      if (!current) return;
      await ch.insert('alert_notifications', [{
        id: current.id, channel: current.channel, rule: current.rule, fingerprint: current.fingerprint, event: current.event,
        event_at: t(new Date(current.at_ms)), message: current.message, created_at: t(new Date(current.created_ms)),
        attempts: row.attempt, next_attempt_at: row.nextAttemptAt ? t(row.nextAttemptAt) : null, delivered_at: row.delivered ? t(row.at) : null,
        last_status: row.status, last_error: row.error,
      }]);
    },
    async notifications(args) {
      const where = [args.rule ? 'rule = {rule:String}' : '', args.undelivered ? 'delivered_at IS NULL' : ''].filter(Boolean);
      const rows = await ch.all<NotificationRaw>(
        `SELECT ${NOTIFICATION_COLUMNS} FROM ${table('alert_notifications')} FINAL ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY created_at DESC, event_at DESC, id LIMIT {limit:UInt32}`,
        { limit: args.limit, ...(args.rule ? { rule: args.rule } : {}) },
      );
      return rows.map(notificationRow);
    },
    async deliveries(id) {
      const rows = await ch.all<Omit<DeliveryRow, 'at'> & { at_ms: number }>(
        `SELECT notification_id, attempt, ${ms('attempted_at')} AS at_ms, status, error, duration_ms FROM ${table('alert_deliveries')}
         WHERE notification_id = {id:String} ORDER BY attempt`,
        { id },
      );
      return rows.map(({ at_ms, ...r }) => ({ ...r, at: iso(at_ms)! }));
    },
    async health() {
      const row = await ch.one<{ rules: number; firing: number; owed: number; oldest_ms: number | null; failing: number }>(
        `SELECT (SELECT count() FROM ${table('alert_rules')} FINAL WHERE NOT deleted) AS rules,
                (SELECT count() FROM ${table('alert_states')} FINAL WHERE NOT deleted AND JSONExtractString(state, 'status') = 'firing') AS firing,
                (SELECT (count(), ${ms('minOrNull(created_at)')}) FROM ${table('alert_notifications')} FINAL
                 WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL) AS queue, queue.1 AS owed, queue.2 AS oldest_ms,
                (SELECT count() FROM ${table('alert_ticks')} FINAL WHERE NOT deleted AND last_error IS NOT NULL) AS failing`,
      );
      return { rules: row?.rules ?? 0, firing: row?.firing ?? 0, notifications_owed: row?.owed ?? 0, oldest_owed: iso(row?.oldest_ms), failing_rules: row?.failing ?? 0 };
    },
  };
}
