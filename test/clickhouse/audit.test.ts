import { describe, expect, it } from 'vitest';
import { AuditLog, verifyChains } from '../../src/access/audit.js';
import { ClickHouseAuditStorage } from '../../src/store/clickhouse/audit.js';
import { TEST_NOW } from '../helpers.js';
import { openClickHouseTestStore } from './helpers.js';

describe('the audit log on a shared ClickHouse store: a chain per instance', () => {
  it('two instances record at the same time into chains of their own; verify checks every chain and names an edit or a deletion', async () => {
    const database = `audit${process.pid}`;
    const first = await openClickHouseTestStore(TEST_NOW, database);
    const second = await openClickHouseTestStore(TEST_NOW, database);
    const key = 'k'.repeat(32);
    const storageA = new ClickHouseAuditStorage(first.ch, 'instance-a');
    const storageB = new ClickHouseAuditStorage(second.ch, 'instance-b');
    const a = new AuditLog(storageA, { key });
    const b = new AuditLog(storageB, { key });
    const admin = { id: 'u_admin', role: 'admin' as const };
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).record(admin, { action: 'unmask', target: `ex_${i}`, reason: `ticket ${i} — ünïcode \ud800`, details: { i } }),
      ),
    );
    // Views are held back for company and committed with the next batch, or at close.
    a.note(admin, { action: 'view_execution', target: 'ex_viewed' }, (error) => { throw error; });
    await storageA.close();

    const verified = await verifyChains(storageA, { key });
    expect(verified.map((c) => [c.chain, c.ok, c.events])).toEqual([['instance-a', true, 11], ['instance-b', true, 10]]);
    expect(verified.every((c) => c.keyed)).toBe(true);
    // Without the key, an HMAC chain does not verify: a forger needs the key, not just the database.
    expect((await verifyChains(storageA)).every((c) => !c.ok)).toBe(true);

    // The audit_log tool's reading: newest first across both chains, filtered, each event naming its chain.
    const found = await a.query({ from: '2000-01-01 00:00:00', to: '9999-01-01 00:00:00', action: 'unmask', limit: 15 });
    expect(found.total).toBe(20);
    expect(found.rows).toHaveLength(15);
    expect(new Set(found.rows.map((r) => r.chain_id))).toEqual(new Set(['instance-a', 'instance-b']));
    expect(found.rows.map((r) => r.at)).toEqual([...found.rows.map((r) => r.at)].sort().reverse());
    expect((await a.query({ from: '2000-01-01 00:00:00', to: '9999-01-01 00:00:00', target: 'ex_viewed', limit: 5 })).rows).toEqual([
      expect.objectContaining({ chain_id: 'instance-a', seq: 11, action: 'view_execution', actor: 'u_admin' }),
    ]);
    expect(await a.verifyAll()).toMatchObject({ ok: true, chains: 2, events: 21, problem: null });

    // An edited reason breaks its own chain at that event; the other chain still verifies.
    await first.ch.command(`ALTER TABLE ${first.ch.t('audit_events')} UPDATE reason = 'nothing to see' WHERE chain_id = 'instance-b' AND seq = 4 SETTINGS mutations_sync = 2`);
    let after = await verifyChains(storageA, { key });
    expect(after.find((c) => c.chain === 'instance-b')).toMatchObject({ ok: false, first_broken_seq: 4 });
    expect(after.find((c) => c.chain === 'instance-a')?.ok).toBe(true);
    // audit_log's verdict names the broken chain.
    expect(await b.verifyAll()).toMatchObject({ ok: false, chains: 2, first_broken_seq: 4, problem: expect.stringMatching(/^chain instance-b: event 4 was modified/) });
    // A deleted event is a gap.
    await first.ch.command(`ALTER TABLE ${first.ch.t('audit_events')} DELETE WHERE chain_id = 'instance-a' AND seq = 7 SETTINGS mutations_sync = 2`);
    after = await verifyChains(storageA, { key });
    expect(after.find((c) => c.chain === 'instance-a')).toMatchObject({ ok: false, first_broken_seq: 7, problem: expect.stringMatching(/event 7 is missing/) });
  });
});
