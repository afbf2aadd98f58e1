import type { Lease, LeaseState } from '../lease.js';
import type { ClickHouseDb } from './client.js';

/**
 * A lease held by one instance at a time (the export sinks of a shared store), over rows in an
 * append-only table: ClickHouse has no compare-and-set outside Keeper, so instances agree by a
 * rule every one of them computes from the same rows.
 *
 * A lease goes through terms. A term is won by the earliest bid (the server's clock stamps each
 * row as it lands; ties by holder): every candidate bids, waits `settleMs`, reads the term's bids,
 * and only the first bidder claims it with a hold row. The holder renews with further hold rows;
 * the term lasts until the latest one's `expires_at`. Once it has passed (or the holder released
 * it), candidates bid for the next term. A term whose winner never claimed it is void
 * `settleMs + ttlMs` after its first bid, and the next term is bid for.
 *
 * What it assumes, as any lease does: an insert is visible to every reader once it is confirmed,
 * and lands within `settleMs` of its server time stamp; the clocks run at the same rate. Under
 * those, the holder stops before anyone else can start:
 * - A holder counts on its term until `marginMs` before the expiry it asked for, measured from
 *   when it sent the row (the server's expiry is later).
 * - A renewal counts only if confirmed before that deadline: it then landed before the term
 *   expired, so nobody who read after the expiry can have missed it.
 * - A claim counts only if confirmed before the term could be void (its bid's send time plus
 *   `settleMs + ttlMs`).
 * - A holder that lost its deadline (a stalled process, a renewal that came back late) never
 *   resumes its own term: it bids for the next one like any other candidate.
 */

export interface LeaseOptions {
  /** How long a term lasts after each hold row. */
  ttlMs: number;
  /** How long a bid waits before its term's bids are read: longer than an insert takes to land. */
  settleMs: number;
  /** The holder stops this long before its term's expiry (default a tenth of ttlMs). */
  marginMs?: number;
}

interface TermRow {
  kind: 'bid' | 'hold';
  holder: string;
  at_us: number;
  expires_us: number | null;
}

/** Local time in ms, never set back (a wall clock may be). */
const monotonic = () => performance.now();

export class ClickHouseLease implements Lease {
  private heldTerm: { term: number; deadline: number } | undefined;
  private bid: { term: number; sentAt: number; confirmedAt: number } | undefined;
  private readonly marginMs: number;
  readonly timing: { ttlMs: number; settleMs: number };

  constructor(
    private readonly ch: ClickHouseDb,
    readonly name: string,
    /** Unique to this process: a restarted instance is a new candidate, never the holder it was. */
    readonly holder: string,
    private readonly options: LeaseOptions,
  ) {
    this.timing = { ttlMs: options.ttlMs, settleMs: options.settleMs };
    this.marginMs = options.marginMs ?? Math.floor(options.ttlMs / 10);
  }

  held(): boolean {
    return this.heldTerm !== undefined && monotonic() < this.heldTerm.deadline;
  }

  /** Call it at least every ttlMs / 3, and settleMs after a bid. */
  async tick(): Promise<LeaseState> {
    if (this.heldTerm && !this.held()) this.heldTerm = undefined;
    if (this.heldTerm) {
      const { term, deadline } = this.heldTerm;
      // Renewed at every tick after the first third of the term: a renewal that fails leaves time for another.
      if (deadline - monotonic() > (this.options.ttlMs * 2) / 3) return { status: 'held', term, until: deadline };
      const sentAt = monotonic();
      await this.insert(term, 'hold');
      if (monotonic() < deadline) {
        this.heldTerm = { term, deadline: sentAt + this.options.ttlMs - this.marginMs };
        return { status: 'held', term, until: this.heldTerm.deadline };
      }
      // Confirmed too late to be sure it landed before the term expired: bid again.
      this.heldTerm = undefined;
    }
    const { term, rows, nowUs } = await this.read();
    const holds = rows.filter((r) => r.kind === 'hold');
    if (holds.length) {
      const latest = holds.at(-1)!;
      if (latest.holder !== this.holder && latest.expires_us! > nowUs) return { status: 'standby', term, holder: latest.holder };
      // Expired, released, or this instance's own term which it no longer counts on: the next term.
      return this.placeBid(term + 1);
    }
    const bids = rows.filter((r) => r.kind === 'bid');
    if (bids.length === 0) return this.placeBid(term + 1);
    const first = bids[0]!;
    if (first.holder === this.holder && this.bid?.term === term) {
      const { sentAt, confirmedAt } = this.bid;
      // Every bid stamped before this one has landed by now (settleMs after it was confirmed).
      if (monotonic() - confirmedAt < this.options.settleMs) return { status: 'bidding', term };
      this.bid = undefined;
      const voidAt = sentAt + this.options.settleMs + this.options.ttlMs;
      const claimSent = monotonic();
      await this.insert(term, 'hold');
      if (monotonic() < voidAt) {
        this.heldTerm = { term, deadline: claimSent + this.options.ttlMs - this.marginMs };
        return { status: 'held', term, until: this.heldTerm.deadline };
      }
      return this.placeBid(term + 1);
    }
    if (nowUs >= first.at_us + (this.options.settleMs + this.options.ttlMs) * 1000) return this.placeBid(term + 1);
    return { status: 'standby', term, holder: first.holder };
  }

  async release(): Promise<void> {
    const held = this.heldTerm;
    this.heldTerm = undefined;
    if (held) await this.insert(held.term, 'hold', 0);
  }

  private async placeBid(term: number): Promise<LeaseState> {
    if (this.bid?.term === term) return { status: 'bidding', term };
    const sentAt = monotonic();
    await this.insert(term, 'bid');
    this.bid = { term, sentAt, confirmedAt: monotonic() };
    return { status: 'bidding', term };
  }

  private async insert(term: number, kind: 'bid' | 'hold', ttlMs = this.options.ttlMs): Promise<void> {
    // Stamped and given its expiry by the server's clock, the one every reader compares with.
    await this.ch.command(
      `INSERT INTO ${this.ch.t('leases')} (name, term, holder, kind, expires_at)
       SELECT {name:String}, {term:UInt64}, {holder:String}, {kind:String}, ${kind === 'hold' ? 'now64(6) + toIntervalMillisecond({ttl:UInt64})' : 'NULL'}`,
      { name: this.name, term, holder: this.holder, kind, ttl: ttlMs },
    );
  }

  /** The latest term's rows in the order they landed, and the server's time. */
  private async read(): Promise<{ term: number; rows: TermRow[]; nowUs: number }> {
    const rows = await this.ch.all<TermRow & { term: number; now_us: number }>(
      `SELECT term, kind, holder, toUnixTimestamp64Micro(at) AS at_us, toUnixTimestamp64Micro(expires_at) AS expires_us, toUnixTimestamp64Micro(now64(6)) AS now_us
       FROM ${this.ch.t('leases')}
       WHERE name = {name:String} AND term = (SELECT max(term) FROM ${this.ch.t('leases')} WHERE name = {name:String})
       ORDER BY at, holder`,
      { name: this.name },
    );
    if (rows.length === 0) {
      const now = await this.ch.one<{ now_us: number }>('SELECT toUnixTimestamp64Micro(now64(6)) AS now_us');
      return { term: 0, rows: [], nowUs: now!.now_us };
    }
    return { term: rows[0]!.term, rows, nowUs: rows[0]!.now_us };
  }
}
