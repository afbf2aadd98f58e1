import { alertSignal } from '../analytics/alert-signals.js';
import type { Clock } from '../clock.js';
import { redact } from '../access/redact.js';
import type { HistoryRow, SilenceRow, StoredRule } from '../store/alerts.js';
import type { Store } from '../store/store.js';
import { alertStoreOf, type AlertStore, type NewNotification } from './alert-store.js';
import { newNotificationId, type AlertMessage } from './channels.js';
import { explain, type Explanation } from './explain.js';
import { describeRule, ms, parseRule, type AlertRule } from './rules.js';
import { walk, type AlertState, type Timing, type Transition } from './state.js';

const MIN = 60_000;

/** After a pause (a restart, a busy store), at most this much of the missed time is evaluated again. */
const CATCH_UP_MS = 60 * MIN;

/** The kinds worth evaluating after every ingest batch: they read a few minutes of executions. */
const CHEAP_KINDS = new Set(['error_rate', 'failures', 'latency_p95', 'feed_silence']);

export const timingOf = (rule: AlertRule): Timing => ({ forMs: ms(rule.for), repeatMs: ms(rule.repeat_interval) });

export interface RuleEvaluation {
  rule: string;
  from: string;
  to: string;
  transitions: number;
  firing: number;
  duration_ms: number;
  error?: string;
}

export interface EngineOptions {
  /** The data's clock: --now pins it, so evaluation is deterministic in tests. */
  clock: Clock;
  /** Zone of budget periods. */
  tz?: string;
  /** How much missed time a cycle evaluates after a pause (default an hour). */
  catchUpMs?: number;
  /** Called when notifications were queued (the delivery loop sends them). */
  onQueued?: () => void;
  log?: (line: string) => void;
  /** Asked before each evaluation is stored: false (the alerting lease was lost) stores nothing. */
  mayAct?: () => boolean;
}

export interface StoredAlertRule {
  rule?: AlertRule;
  name: string;
  origin: string;
  updated_by: string;
  updated_at: string;
  error?: string;
}

/** A stored rule parsed; one stored by an older version that no longer parses is reported, not fatal. */
function parseStored(row: StoredRule): StoredAlertRule {
  const meta = { name: row.name, origin: row.origin, updated_by: row.updated_by, updated_at: row.updated_at };
  try {
    return { rule: parseRule(JSON.parse(row.rule), `rule ${row.name}`), ...meta };
  } catch (error) {
    return { ...meta, error: error instanceof Error ? error.message : String(error) };
  }
}

export async function storedRules(alerts: AlertStore): Promise<StoredAlertRule[]> {
  return (await alerts.rules()).map(parseStored);
}

export async function storedRule(alerts: AlertStore, name: string): Promise<StoredAlertRule | undefined> {
  const row = await alerts.rule(name);
  return row && parseStored(row);
}

export function parseState(json: string): AlertState {
  return JSON.parse(json) as AlertState;
}

/**
 * Evaluates every enabled rule at each minute of the data's clock: the signal since the rule's
 * last tick, walked through the alert states, and what changed stored together with the
 * notifications it owes (AlertStore.commitEvaluation), so a crash between evaluating and notifying
 * loses nothing.
 */
export class AlertEngine {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RuleEvaluation[]> | undefined;
  private cheapTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private readonly store: AlertStore;
  private readonly mayAct: () => boolean;

  constructor(store: Store | AlertStore, private readonly options: EngineOptions) {
    this.store = alertStoreOf(store);
    this.mayAct = options.mayAct ?? (() => true);
  }

  /** Evaluates now, then every `intervalMs`, and soon after each ingest batch for the cheap rules. */
  start(intervalMs = 60_000): void {
    const loop = () => {
      if (this.stopped) return;
      void this.evaluate().catch((error) => this.options.log?.(`alerts: ${error instanceof Error ? error.message : String(error)}`));
      this.timer = setTimeout(loop, intervalMs);
      this.timer.unref();
    };
    loop();
    this.unsubscribe = this.store.onIngested?.(() => {
      if (this.cheapTimer || this.stopped) return;
      // A burst of batches is evaluated once.
      this.cheapTimer = setTimeout(() => {
        this.cheapTimer = undefined;
        void this.evaluate({ cheapOnly: true }).catch(() => undefined);
      }, 1_000);
      this.cheapTimer.unref();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.cheapTimer);
    this.unsubscribe?.();
    await this.running?.catch(() => undefined);
  }

  /** One evaluation cycle at the current tick (or `at`); evaluations never overlap. */
  async evaluate(options: { at?: Date; cheapOnly?: boolean } = {}): Promise<RuleEvaluation[]> {
    while (this.running) await this.running.catch(() => undefined);
    this.running = this.cycle(options);
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  private async cycle(options: { at?: Date; cheapOnly?: boolean }): Promise<RuleEvaluation[]> {
    const tick = Math.floor((options.at ?? this.options.clock.now()).getTime() / MIN) * MIN;
    const [rules, ticks, silences] = await Promise.all([storedRules(this.store), this.store.ticks(), this.store.silences(new Date(tick))]);
    const lastTick = new Map(ticks.map((t) => [t.rule, Date.parse(t.last_tick)]));
    const results: RuleEvaluation[] = [];
    let queued = 0;
    for (const entry of rules) {
      const rule = entry.rule;
      if (!rule || !rule.enabled) continue;
      if (options.cheapOnly && !CHEAP_KINDS.has(rule.kind)) continue;
      const last = lastTick.get(rule.name);
      // From the tick after the last one evaluated (the same tick again after an ingest batch).
      const from = last === undefined ? tick : Math.min(tick, Math.max(last + MIN, tick - (this.options.catchUpMs ?? CATCH_UP_MS)));
      const started = performance.now();
      try {
        const outcome = await this.evaluateRule(rule, from, tick, silences);
        queued += outcome.queued;
        results.push({ rule: rule.name, from: new Date(from).toISOString(), to: new Date(tick).toISOString(), transitions: outcome.transitions, firing: outcome.firing, duration_ms: performance.now() - started });
      } catch (error) {
        // One rule that fails (a bad stored value, the store busy) never stops the others.
        const message = error instanceof Error ? error.message : String(error);
        this.options.log?.(`alerts: rule ${rule.name}: ${message}`);
        if (this.mayAct()) await this.store.putTick({ rule: rule.name, at: new Date(last ?? tick), error: message, durationMs: performance.now() - started }).catch(() => undefined);
        results.push({ rule: rule.name, from: new Date(from).toISOString(), to: new Date(tick).toISOString(), transitions: 0, firing: 0, duration_ms: performance.now() - started, error: message });
      }
    }
    if (queued > 0) this.options.onQueued?.();
    return results;
  }

  private async evaluateRule(rule: AlertRule, from: number, to: number, silences: readonly SilenceRow[]): Promise<{ transitions: number; firing: number; queued: number }> {
    const rows = await this.store.states(rule.name);
    const previous = new Map(rows.map((row) => [row.group_key, parseState(row.state)]));
    // A reminder repeats the explanation its alert fired with.
    const stored = new Map(rows.filter((row) => row.explanation).map((row) => [row.group_key, JSON.parse(row.explanation!) as Explanation]));
    const signal = await alertSignal(this.store.analytics.alertSignals, rule, { from: new Date(from), to: new Date(to), tz: this.options.tz });
    const walked = walk(signal, previous, rule.name, from, to, timingOf(rule));
    const explanations = new Map<Transition, Explanation>();
    for (const transition of walked.transitions) {
      if (transition.event === 'firing') explanations.set(transition, await explain(this.store.analytics, rule, transition.state, transition.at));
    }
    const history: HistoryRow[] = [];
    const notifications: NewNotification[] = [];
    // When a notification was queued is the wall clock's, as its delivery is.
    const now = new Date();
    const latestExplanation = new Map<string, Explanation>(stored);
    for (const transition of walked.transitions) {
      const { state, event, at } = transition;
      const silenced = silences.some((s) => s.rule === rule.name && (s.group_key === null || s.group_key === state.group) && Date.parse(s.ends_at) > at);
      const fresh = explanations.get(transition);
      if (fresh) latestExplanation.set(state.group, fresh);
      const explanation = fresh ?? (event === 'repeat' ? latestExplanation.get(state.group) : undefined);
      history.push({
        rule: rule.name, fingerprint: state.fingerprint, group_key: state.group, event, at: new Date(at).toISOString(), severity: rule.severity,
        value: state.value, threshold: state.threshold, silenced, explanation: fresh ? JSON.stringify(fresh) : null,
      });
      if (silenced) continue;
      const message = alertMessage(rule, transition, explanation);
      for (const channel of rule.channels) {
        notifications.push({ id: newNotificationId(), channel, rule: rule.name, fingerprint: state.fingerprint, event, at: new Date(at), message: JSON.stringify(message), created_at: now });
      }
    }
    const groups = new Set([...previous.keys(), ...walked.states.keys()]);
    const changed = [...groups]
      .map((group) => ({ group, before: previous.get(group), after: walked.states.get(group) }))
      .filter(({ before, after }) => JSON.stringify(before) !== JSON.stringify(after))
      .map(({ group, before, after }) => ({
        fingerprint: (after ?? before)!.fingerprint, rule: rule.name, group, state: after ? JSON.stringify(after) : null,
        explanation: walked.transitions.some((t) => t.state.group === group && explanations.has(t)) ? JSON.stringify(latestExplanation.get(group)) : null,
      }));
    if (!this.mayAct()) throw new Error('this instance no longer holds the alerting lease; the evaluation was not stored');
    await this.store.commitEvaluation({ states: changed, at: now, history, notifications, tick: { rule: rule.name, at: new Date(to) } });
    const firing = [...walked.states.values()].filter((s) => s.status === 'firing').length;
    return { transitions: walked.transitions.length, firing, queued: notifications.length };
  }
}

/** What every channel is told, redacted like any answer that leaves the server. */
export function alertMessage(rule: AlertRule, transition: Transition, explanation: Explanation | undefined): AlertMessage {
  const { state, event, at } = transition;
  const what = state.group ? `${rule.name} (${state.group})` : rule.name;
  const summary =
    event === 'resolved'
      ? `${what} resolved at ${new Date(at).toISOString()} (${describeRule(rule)}).`
      : `${what}: ${state.value} against a threshold of ${state.threshold}${topLine(explanation)}.`;
  const message: AlertMessage = {
    event,
    rule: rule.name,
    kind: rule.kind,
    severity: rule.severity,
    group: state.group,
    fingerprint: state.fingerprint,
    summary,
    condition: describeRule(rule),
    value: state.value,
    threshold: state.threshold,
    starts_at: new Date(state.fired_at ?? state.active_since).toISOString(),
    ends_at: state.resolved_at === null ? null : new Date(state.resolved_at).toISOString(),
    explanation: (explanation ?? {}) as unknown as Record<string, unknown>,
    next: explanation?.next ?? `list_alerts (rule ${rule.name})`,
  };
  return redact(message) as AlertMessage;
}

function topLine(explanation: Explanation | undefined): string {
  const top = explanation?.top_contributors;
  if (!top) return '';
  const parts = [
    top.users[0]?.key ? `top user ${top.users[0].key}` : '',
    top.tools[0]?.key ? `top tool ${top.tools[0].key}` : '',
    explanation?.sample_execution_ids?.[0] ? `e.g. ${explanation.sample_execution_ids[0]}` : '',
  ].filter(Boolean);
  return parts.length ? `; ${parts.join(', ')}` : '';
}
