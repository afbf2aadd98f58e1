import type { AnalyticsBackend } from '../analytics/backend.js';
import { duckdbAnalytics } from '../analytics/duckdb/index.js';
import { onIngested } from '../ingest/ingested.js';
import {
  alertHealth, appendHistory, deliveryRows, dueNotifications, enqueueNotifications, historyRows, nextAttemptAt, notificationRows, putRule, putSilence,
  putStates, putTick, recordAttempt, removeRule, ruleRow, ruleRows, silenceRows, stateRows, tickRows,
  type DeliveryRow, type HistoryRow, type NotificationRow, type SilenceRow, type StateRow, type StoredRule, type TickRow,
} from '../store/alerts.js';
import type { Store } from '../store/store.js';

export type NewNotification = { id: string; channel: string; rule: string; fingerprint: string; event: string; at: Date; message: string; created_at: Date };
export type StateChange = { fingerprint: string; rule: string; group: string; state: string | null; explanation?: string | null };
export type Attempt = { id: string; attempt: number; at: Date; status: number | null; error: string | null; durationMs: number; delivered: boolean; nextAttemptAt: Date | null };
export type AlertHealth = { rules: number; firing: number; notifications_owed: number; oldest_owed: string | null; failing_rules: number };

/**
 * Where alerting keeps its state, per store (DuckDB's tables: store/alerts.ts; ClickHouse's:
 * store/clickhouse/alerts.ts): rules, evaluation ticks, alert states and their history, silences,
 * the notification queue and its delivery log. The engine, the delivery loop, the rule changes and
 * the alert tools go through it and never name an engine. Data in, typed rows out.
 */
export interface AlertStore {
  /** The questions' queries on the same data: signals, explanations, filter checks. */
  readonly analytics: AnalyticsBackend;
  rules(): Promise<StoredRule[]>;
  rule(name: string): Promise<StoredRule | undefined>;
  putRule(row: { name: string; kind: string; rule: string; origin: 'tool' | 'file'; by: string; at: Date }): Promise<void>;
  /** Removes a rule with its alerts' states and its tick; history and notifications stay. */
  removeRule(name: string): Promise<boolean>;
  ticks(): Promise<TickRow[]>;
  putTick(row: { rule: string; at: Date; error: string | null; durationMs: number }): Promise<void>;
  states(rule?: string): Promise<StateRow[]>;
  history(args: { from: Date; to: Date; rule?: string; limit: number }): Promise<HistoryRow[]>;
  putSilence(row: Omit<SilenceRow, 'ends_at' | 'created_at'> & { ends_at: Date; created_at: Date }): Promise<void>;
  /** Silences still in force at `at`. */
  silences(at: Date): Promise<SilenceRow[]>;
  /**
   * What one evaluation of a rule changed: its states, their history, the notifications they owe
   * and the rule's tick. DuckDB stores them in one transaction; ClickHouse, which has none, stores
   * the notifications and history before the states and the tick, so a crash in between sends a
   * notification twice rather than never.
   */
  commitEvaluation(e: { states: StateChange[]; at: Date; history: readonly HistoryRow[]; notifications: readonly NewNotification[]; tick: { rule: string; at: Date } }): Promise<void>;
  /** Due notifications, oldest first, in order per channel (one waiting for a retry holds back the later ones of its channel). */
  dueNotifications(now: Date, limit: number): Promise<NotificationRow[]>;
  /** The soonest next attempt of a notification still owed. */
  nextAttemptAt(): Promise<string | null>;
  recordAttempt(row: Attempt): Promise<void>;
  notifications(args: { limit: number; rule?: string; undelivered?: boolean }): Promise<NotificationRow[]>;
  deliveries(notificationId: string): Promise<DeliveryRow[]>;
  health(): Promise<AlertHealth>;
  /** Called after each batch this process stored (the cheap rules are evaluated on fresh data). */
  onIngested?(listener: () => void): () => void;
}

/** The DuckDB store's alerting tables. */
export function duckdbAlertStore(store: Store): AlertStore {
  return {
    analytics: duckdbAnalytics((task) => store.read(task)),
    rules: () => store.read((db) => ruleRows(db)),
    rule: (name) => store.read((db) => ruleRow(db, name)),
    putRule: (row) => store.write((db) => putRule(db, row)),
    removeRule: (name) => store.write((db) => removeRule(db, name)),
    ticks: () => store.read((db) => tickRows(db)),
    putTick: (row) => store.write((db) => putTick(db, row)),
    states: (rule) => store.read((db) => stateRows(db, rule)),
    history: (args) => store.read((db) => historyRows(db, args)),
    putSilence: (row) => store.write((db) => putSilence(db, row)),
    silences: (at) => store.read((db) => silenceRows(db, at)),
    commitEvaluation: (e) =>
      store.write(async (db) => {
        await putStates(db, e.states, e.at);
        await appendHistory(db, e.history);
        await enqueueNotifications(db, e.notifications);
        await putTick(db, { rule: e.tick.rule, at: e.tick.at, error: null, durationMs: 0 });
      }),
    dueNotifications: (now, limit) => store.read((db) => dueNotifications(db, now, limit)),
    nextAttemptAt: () => store.read((db) => nextAttemptAt(db)),
    recordAttempt: (row) => store.write((db) => recordAttempt(db, row)),
    notifications: (args) => store.read((db) => notificationRows(db, args)),
    deliveries: (id) => store.read((db) => deliveryRows(db, id)),
    health: () => store.read((db) => alertHealth(db)),
    onIngested: (listener) => onIngested(store, listener),
  };
}

/** The alert store of a DuckDB store, or the one given. */
export function alertStoreOf(target: Store | AlertStore): AlertStore {
  return 'commitEvaluation' in target ? target : duckdbAlertStore(target);
}
