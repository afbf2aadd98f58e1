/**
 * A lease that one instance of several holds at a time (store/clickhouse/lease.ts keeps one in
 * ClickHouse), and the keeper that runs the work it guards only while this instance holds it.
 */

export type LeaseState =
  | { status: 'held'; term: number; until: number }
  | { status: 'standby'; term: number; holder: string | null }
  | { status: 'bidding'; term: number };

export interface Lease {
  readonly name: string;
  readonly holder: string;
  /** How long a term lasts after each renewal, and how long a bid waits before its term is decided. */
  readonly timing: { ttlMs: number; settleMs: number };
  /** Whether this instance may act for the lease now. Ask before every act it guards. */
  held(): boolean;
  /** One step: renews the term this instance holds, or bids, claims or stands by; where this instance stands. */
  tick(): Promise<LeaseState>;
  /** Ends this instance's term now, so a standby takes over without waiting for the expiry. */
  release(): Promise<void>;
}

/**
 * Keeps a lease: ticks it on a timer, and starts the work it guards when this instance comes to
 * hold it, stops it when the instance stops holding it (or the keeper stops, releasing it).
 */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private active = false;
  private stopped = false;

  constructor(
    readonly lease: Lease,
    private readonly work: { start(): void | Promise<void>; stop(): Promise<void> },
    private readonly options: { log?: (line: string) => void } = {},
  ) {}

  start(): void {
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.step().finally(() => (this.running = undefined));
    }, ms);
    this.timer.unref();
  }

  private async step(): Promise<void> {
    let next = Math.floor(this.lease.timing.ttlMs / 3);
    try {
      const state = await this.lease.tick();
      if (state.status === 'bidding') next = this.lease.timing.settleMs;
      if (state.status === 'held' && !this.active && !this.stopped) {
        this.active = true;
        this.options.log?.(`lease ${this.lease.name}: held by this instance (term ${state.term})`);
        await this.work.start();
      }
    } catch (error) {
      this.options.log?.(`lease ${this.lease.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (this.active && !this.lease.held()) {
      this.active = false;
      this.options.log?.(`lease ${this.lease.name}: no longer held by this instance; standing by`);
      await this.work.stop();
    }
    this.schedule(next);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    if (this.active) {
      this.active = false;
      await this.work.stop();
    }
    await this.lease.release().catch(() => undefined);
  }
}
