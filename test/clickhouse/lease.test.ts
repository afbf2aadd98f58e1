import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ClickHouseLease } from '../../src/store/clickhouse/lease.js';
import type { LeaseState } from '../../src/store/lease.js';
import type { ClickHouseStore } from '../../src/store/clickhouse/store.js';
import { TEST_NOW } from '../helpers.js';
import { openClickHouseTestStore } from './helpers.js';

// Short enough for a test, long against an insert into chdb in this process (milliseconds).
const OPTIONS = { ttlMs: 2_000, settleMs: 300 };

/** Ticks every lease until one holds (the others then stand by), at most `rounds` rounds of settleMs. */
async function contend(leases: ClickHouseLease[], rounds = 20): Promise<LeaseState[]> {
  for (let i = 0; i < rounds; i++) {
    const states = await Promise.all(leases.map((l) => l.tick()));
    if (states.some((s) => s.status === 'held')) return states;
    await sleep(OPTIONS.settleMs);
  }
  throw new Error('no instance came to hold the lease');
}

const holders = (leases: ClickHouseLease[]) => leases.filter((l) => l.held()).map((l) => l.holder);

async function rows(store: ClickHouseStore): Promise<Array<{ term: number; kind: string; holder: string }>> {
  return store.ch.all(`SELECT term, kind, holder FROM ${store.ch.t('leases')} ORDER BY at`);
}

describe('a lease on ClickHouse: one instance at a time', () => {
  it('of three instances bidding at once, exactly one comes to hold the lease; the others stand by while it renews', async () => {
    const store = await openClickHouseTestStore(TEST_NOW);
    // A longer term here: a tick slowed by a loaded machine must not cost the holder its term.
    const long = { ...OPTIONS, ttlMs: 3_000 };
    const leases = ['a', 'b', 'c'].map((h) => new ClickHouseLease(store.ch, 'export:siem', h, long));
    const states = await contend(leases);
    expect(holders(leases)).toHaveLength(1);
    const winner = leases.find((l) => l.held())!;
    expect(states.filter((s) => s.status === 'held')).toHaveLength(1);
    // Every bid was for term 1, and only its earliest bidder claimed it.
    const stored = await rows(store);
    expect(stored.filter((r) => r.kind === 'bid').map((r) => r.term)).toEqual([1, 1, 1]);
    expect(stored.filter((r) => r.kind === 'hold').map((r) => r.holder)).toEqual([winner.holder]);
    expect(stored.find((r) => r.kind === 'bid')!.holder).toBe(winner.holder);
    // Through more than a term of renewals the holder keeps it and nobody else comes to hold it.
    for (let i = 0; i < 5; i++) {
      const round = await Promise.all(leases.map((l) => l.tick()));
      expect(holders(leases)).toEqual([winner.holder]);
      for (const [index, state] of round.entries()) {
        expect(state).toMatchObject(leases[index] === winner ? { status: 'held', term: 1 } : { status: 'standby', term: 1, holder: winner.holder });
      }
      await sleep(long.ttlMs / 4);
    }
  });

  it('when the holder stops renewing (a crash), it stops counting on the lease before another instance takes the next term', async () => {
    const store = await openClickHouseTestStore(TEST_NOW);
    const [a, b] = ['a', 'b'].map((h) => new ClickHouseLease(store.ch, 'export:siem', h, OPTIONS)) as [ClickHouseLease, ClickHouseLease];
    await contend([a]);
    expect(a.held()).toBe(true);
    // a stops ticking. b stands by until a's term has expired, and a has given up first.
    let tookOver: LeaseState | undefined;
    // (An upper bound on when b takes over is the loop's: a term that never expired would fail it.)
    const started = Date.now();
    while (!tookOver) {
      const state = await b.tick();
      if (b.held()) {
        tookOver = state;
        break;
      }
      expect(Date.now() - started).toBeLessThan(OPTIONS.ttlMs * 4);
      await sleep(100);
    }
    expect(tookOver).toMatchObject({ status: 'held', term: 2 });
    expect(a.held()).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(OPTIONS.ttlMs - 200);
    // a comes back: its own term is over, so it bids for the next one, and stands by behind b.
    const back = await a.tick();
    expect(back.status).not.toBe('held');
    expect(await a.tick()).toMatchObject({ status: 'standby', term: 2, holder: 'b' });
    expect(holders([a, b])).toEqual(['b']);
  });

  it('a holder that releases the lease hands it over without waiting for the expiry', async () => {
    const store = await openClickHouseTestStore(TEST_NOW);
    const [a, b] = ['a', 'b'].map((h) => new ClickHouseLease(store.ch, 'export:siem', h, { ...OPTIONS, ttlMs: 60_000 })) as [ClickHouseLease, ClickHouseLease];
    await contend([a]);
    expect(await b.tick()).toMatchObject({ status: 'standby', holder: 'a' });
    await a.release();
    expect(a.held()).toBe(false);
    const started = Date.now();
    const state = await contend([b]);
    expect(state[0]).toMatchObject({ status: 'held', term: 2 });
    expect(Date.now() - started).toBeLessThan(10_000);
    // Each lease is its own: another sink's lease is free.
    const other = new ClickHouseLease(store.ch, 'export:archive', 'a', OPTIONS);
    expect((await contend([other]))[0]).toMatchObject({ status: 'held', term: 1 });
  });

  it('a term whose earliest bidder never claims it is void after settleMs + ttlMs, and the next term is bid for', async () => {
    const store = await openClickHouseTestStore(TEST_NOW);
    // A bidder that died right after its bid.
    await store.ch.command(`INSERT INTO ${store.ch.t('leases')} (name, term, holder, kind) VALUES ('export:siem', 1, 'ghost', 'bid')`);
    const b = new ClickHouseLease(store.ch, 'export:siem', 'b', OPTIONS);
    const started = Date.now();
    expect(await b.tick()).toMatchObject({ status: 'standby', term: 1, holder: 'ghost' });
    const states = await contend([b], 40);
    expect(states[0]).toMatchObject({ status: 'held', term: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(OPTIONS.ttlMs + OPTIONS.settleMs - 100);
  });
});
