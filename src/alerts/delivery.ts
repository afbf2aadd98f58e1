import { systemClock, type Clock } from '../clock.js';
import { describeReceiverFailure } from '../receiver-errors.js';
import type { NotificationRow } from '../store/alerts.js';
import { alertStoreOf, type AlertStore } from './alert-store.js';
import type { Store } from '../store/store.js';
import { render, type AlertMessage, type Channel } from './channels.js';

export interface DeliveryOptions {
  /** Delivery runs on the wall clock, whatever "now" the data is evaluated at. */
  clock?: Clock;
  /** First retry after this, doubling (with jitter) up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Attempts before a notification is given up (its last error stays in the log). */
  maxAttempts?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
  /** Asked before each send: false (the alerting lease was lost) sends nothing more. */
  mayAct?: () => boolean;
}

/**
 * Sends what the engine queued, from the database: a notification is marked delivered only once
 * its receiver answered 2xx, so a restart, a receiver down for an hour or a crash loses nothing.
 * Each attempt is logged (alert_deliveries). Channels are independent: a bad one only delays its
 * own notifications.
 */
export class Delivery {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private again = false;
  private readonly clock: Clock;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxAttempts: number;
  private readonly timeoutMs: number;
  private readonly store: AlertStore;

  constructor(
    store: Store | AlertStore,
    private readonly channels: ReadonlyMap<string, Channel>,
    private readonly options: DeliveryOptions = {},
  ) {
    this.store = alertStoreOf(store);
    this.clock = options.clock ?? systemClock;
    this.backoffMs = options.backoffMs ?? 5_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 10 * 60_000;
    this.maxAttempts = options.maxAttempts ?? 15;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Starts sending, beginning with whatever an earlier run left owed. */
  start(): void {
    this.kick();
  }

  /** Something was queued: send it now. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.deliverDue()
      .catch((error) => this.options.log?.(`alerts: delivery: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        } else void this.sleep();
      });
  }

  private async sleep(): Promise<void> {
    if (this.stopped) return;
    const next = await this.store.nextAttemptAt().catch(() => null);
    if (this.stopped || this.running) return;
    const wait = next ? Math.max(50, Date.parse(next) - this.clock.now().getTime()) : 30_000;
    this.timer = setTimeout(() => this.kick(), Math.min(wait, 30_000));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over every due notification; the channels in parallel, each one in order. */
  async deliverDue(): Promise<void> {
    const due = await this.store.dueNotifications(this.clock.now(), 200);
    const byChannel = new Map<string, NotificationRow[]>();
    for (const row of due) byChannel.set(row.channel, [...(byChannel.get(row.channel) ?? []), row]);
    await Promise.all([...byChannel].map(async ([name, rows]) => {
      // One at a time per channel, oldest first: a receiver hears an alert fire before it resolves,
      // so a failure holds back the rest of its channel until its retry.
      for (const row of rows) {
        if (this.options.mayAct?.() === false) break;
        if (!(await this.attempt(name, row))) break;
      }
    }));
  }

  private async attempt(name: string, row: NotificationRow): Promise<boolean> {
    const channel = this.channels.get(name);
    const attempt = row.attempts + 1;
    const started = performance.now();
    let status: number | null = null;
    let error: string | null = null;
    let permanent = false;
    if (!channel) {
      error = `no channel named ${name} is configured (the alerts file names the channels)`;
    } else {
      const request = render(name, channel, JSON.parse(row.message) as AlertMessage, row.id, this.clock.now());
      try {
        const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(this.timeoutMs) });
        status = response.status;
        const text = await response.text().catch(() => '');
        if (!response.ok) {
          error = `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`;
          // A 4xx other than 408/429 says the request itself is wrong; sending it again will not help.
          permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
        }
      } catch (caught) {
        error = describeReceiverFailure(caught, this.timeoutMs);
      }
    }
    const delivered = error === null;
    const giveUp = !delivered && (permanent || attempt >= this.maxAttempts);
    const backoff = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (attempt - 1));
    const nextAttempt = delivered || giveUp ? null : new Date(this.clock.now().getTime() + backoff * (0.75 + Math.random() * 0.5));
    await this.store.recordAttempt({
      id: row.id, attempt, at: this.clock.now(), status, durationMs: performance.now() - started, delivered, nextAttemptAt: nextAttempt,
      error: giveUp ? `${error} (gave up after ${attempt} attempt${attempt > 1 ? 's' : ''})` : error,
    });
    if (!delivered) this.options.log?.(`alerts: ${name}: ${row.rule} ${row.event}: ${error}${giveUp ? '; given up' : `; retrying in ${Math.round(backoff / 1000)} s`}`);
    return delivered;
  }
}
