import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AuditLog, chainHash, verifyChain } from '../../src/access/audit.js';
import { allAuditEvents } from '../../src/store/audit-events.js';
import { Store } from '../../src/store/store.js';
import { fixedClock } from '../../src/clock.js';
import { TOOLS } from '../../src/mcp/registry.js';
import { smallFleet, FIXTURE_NOW } from '../fixtures/small-fleet.js';
import { call, connect, fixtureStore, text } from '../mcp/harness.js';
import { tempDir } from '../helpers.js';

const ANA = { id: 'u_ana', role: 'member' } as const;
const BEN = { id: 'u_ben', role: 'member' } as const;
const ROOT = { id: 'u_root', role: 'admin' } as const;

const AWS = 'AKIAIOSFODNN7EXAMPLE';
const GHP = `ghp_${'Z9'.repeat(18)}`;
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1X2FuYSJ9.c2lnbmF0dXJlLXZhbHVl';
const CARD = '4242 4242 4242 4242';
const NOT_A_CARD = '4242424242424241';
const SECRETS = [AWS, GHP, JWT, CARD, '4242424242424242', 'ana.private@example.com'];

/** The fixture plus one execution of u_ana's whose payloads and error are full of secrets. */
function secretFleet() {
  return [
    ...smallFleet(),
    {
      execution_id: 'leaky',
      started_at: '2026-10-31T09:00:00Z',
      ended_at: '2026-10-31T09:00:01Z',
      status: 'failed',
      tool: { name: 'github_search_code', kind: 'workflow', server: 'eng-gateway' },
      user: { id: 'u_ana', team: 'revops' },
      input: { query: `deploy with ${AWS}`, contact: 'ana.private@example.com', card: CARD, order_ref: NOT_A_CARD },
      output: { headers: { authorization: `Bearer ${JWT}` }, note: `token ${GHP}` },
      error: { type: 'auth_failed', layer: 'auth', message: `GitHub rejected ${GHP}` },
      steps: [{ index: 0, name: 'Search', status: 'failed', input: { q: AWS }, error: { type: 'auth_failed', message: `bad key ${AWS}` } }],
    },
  ];
}

describe('masking: who sees payloads', () => {
  it('a member sees their own execution byte for byte, and another user\'s masked', async () => {
    const store = await fixtureStore();
    const original = smallFleet().find((r) => r.execution_id === 'wf_fail')!;
    const own = (await call(await connect(store, ANA), 'trace_execution', { execution_id: 'wf_fail' })).structuredContent;
    expect(own.payloads).toBe('visible');
    expect(JSON.stringify(own.execution.input)).toBe(JSON.stringify(original.input));
    expect(JSON.stringify(own.steps[0].output)).toBe(JSON.stringify((original.steps as any)[0].output));

    const other = await call(await connect(store, BEN), 'trace_execution', { execution_id: 'wf_fail' });
    expect(other.structuredContent.payloads).toBe('masked');
    expect(other.structuredContent.execution.input).toEqual({ account: '<masked string, 4 chars>', owner_email: '<masked string, ~15 chars>' });
    expect(JSON.stringify(other)).not.toContain('ana@example.com"'.slice(0, -1) + '"}'); // the payload value, not the user's own email field
    expect(JSON.stringify(other.structuredContent.steps)).not.toContain('001ACME');
    // Error type and layer stay visible.
    expect(other.structuredContent.execution.error).toMatchObject({ type: 'http_500', layer: 'connector' });
  });

  it('an admin is masked too until an audited unmask', async () => {
    const store = await fixtureStore();
    const client = await connect(store, ROOT);
    const masked = (await call(client, 'trace_execution', { execution_id: 'wf_fail' })).structuredContent;
    expect(masked.payloads).toBe('masked');
    const unmasked = await call(client, 'unmask_execution', { execution_id: 'wf_fail', reason: 'INC-4521: wrong amounts reported' });
    expect(unmasked.isError).toBeFalsy();
    expect(unmasked.structuredContent.input).toEqual({ account: 'ACME', owner_email: 'ana@example.com' });
    expect(unmasked.structuredContent.steps[0].output).toEqual({ id: '001ACME' });
    const events = await store.read((db) => allAuditEvents(db));
    expect(events.map((e) => [e.actor, e.action, e.target, e.reason])).toEqual([
      ['u_root', 'view_execution', 'wf_fail', null],
      ['u_root', 'unmask', 'wf_fail', 'INC-4521: wrong amounts reported'],
    ]);
    expect(unmasked.structuredContent.audit_seq).toBe(2);
  });
});

describe('secrets never leak sideways', () => {
  it('planted secrets appear in no tool output but an admin unmask; the Luhn-invalid number stays', async () => {
    const store = await fixtureStore(secretFleet() as any);
    for (const caller of [ANA, BEN, ROOT]) {
      const client = await connect(store, caller);
      const outputs: string[] = [];
      for (const tool of TOOLS) {
        if (tool.name === 'unmask_execution') continue;
        const args = tool.name === 'trace_execution' ? { execution_id: 'leaky' } : tool.name === 'list_executions' ? { user: 'u_ana', limit: 100 } : {};
        const result = await call(client, tool.name, args);
        outputs.push(JSON.stringify(result));
      }
      const all = outputs.join('\n');
      for (const secret of SECRETS) {
        // u_ana's own contact email is hers to see; every other caller must never see it.
        if (caller.id === 'u_ana' && secret.includes('@')) continue;
        expect(all, `${caller.id}: ${secret}`).not.toContain(secret);
      }
      if (caller.id === 'u_ana') {
        expect(all).toContain(NOT_A_CARD); // own payload, shown, and a Luhn-invalid number is no card
        expect(all).toContain('[REDACTED:aws_access_key]');
      }
    }
    const unmask = await call(await connect(store, ROOT), 'unmask_execution', { execution_id: 'leaky', reason: 'SEC-77 credential leak review' });
    expect(JSON.stringify(unmask.structuredContent)).toContain(AWS);
  });
});

describe('unmask_execution is audited and fails closed', () => {
  it('a member is refused, and the attempt is audited', async () => {
    const store = await fixtureStore();
    const result = await call(await connect(store, BEN), 'unmask_execution', { execution_id: 'wf_fail', reason: 'curious about the payload' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/Only admins can unmask/);
    expect(JSON.stringify(result)).not.toContain('ACME');
    const events = await store.read((db) => allAuditEvents(db));
    expect(events.map((e) => [e.actor, e.role, e.action, e.target])).toEqual([['u_ben', 'member', 'unmask_denied', 'wf_fail']]);
  });

  it('a reason is required', async () => {
    const store = await fixtureStore();
    const result = await call(await connect(store, ROOT), 'unmask_execution', { execution_id: 'wf_fail', reason: 'because' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/at least 10 characters/);
  });

  it('returns no data when the audit record cannot be written', async () => {
    const store = await fixtureStore();
    const blocked = join(tempDir(), 'mirror-is-a-directory');
    mkdirSync(blocked);
    const client = await connect(store, ROOT, { audit: new AuditLog(store, { mirrorPath: blocked }) });
    const result = await call(client, 'unmask_execution', { execution_id: 'wf_fail', reason: 'INC-1: needs raw data' });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result)).not.toContain('ACME');
    expect(result.structuredContent).toBeUndefined();
    expect(await store.read((db) => allAuditEvents(db))).toEqual([]);
  });
});

describe('audit log', () => {
  async function auditedStore(key?: string) {
    const dir = tempDir();
    const dbPath = join(dir, 'audit.duckdb');
    const store = await Store.open({ path: dbPath, clock: fixedClock(new Date(FIXTURE_NOW)) });
    const log = new AuditLog(store, { key, mirrorPath: `${dbPath}.audit.jsonl` });
    for (let i = 1; i <= 5; i++) await log.record(ROOT, { action: i % 2 ? 'view_execution' : 'unmask', target: `e${i}`, reason: i % 2 ? undefined : `reason number ${i}` });
    return { store, log, dbPath };
  }
  const tamper = (store: Store, sql: string) => store.write((db) => db.run(sql));

  it('verifies an intact chain, and names the first broken event after an edit, a deletion, a reordering, a truncation', async () => {
    const intact = await auditedStore();
    expect(await intact.log.verify()).toMatchObject({ ok: true, events: 5, first_broken_seq: null, mirror: { matches: true } });
    await intact.store.close();

    const edited = await auditedStore();
    await tamper(edited.store, "UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 2");
    expect(await edited.log.verify()).toMatchObject({ ok: false, first_broken_seq: 2, problem: expect.stringMatching(/modified/) });
    await edited.store.close();

    const deleted = await auditedStore();
    await tamper(deleted.store, 'DELETE FROM audit_events WHERE seq = 3');
    expect(await deleted.log.verify()).toMatchObject({ ok: false, first_broken_seq: 3 });
    await deleted.store.close();

    const reordered = await auditedStore();
    await tamper(reordered.store, 'UPDATE audit_events SET seq = 100 WHERE seq = 2');
    await tamper(reordered.store, 'UPDATE audit_events SET seq = 2 WHERE seq = 3');
    await tamper(reordered.store, 'UPDATE audit_events SET seq = 3 WHERE seq = 100');
    expect(await reordered.log.verify()).toMatchObject({ ok: false, first_broken_seq: 2 });
    await reordered.store.close();

    const truncated = await auditedStore();
    await tamper(truncated.store, 'DELETE FROM audit_events WHERE seq >= 4');
    expect(await truncated.log.verify()).toMatchObject({ ok: false, first_broken_seq: 4, problem: expect.stringMatching(/deleted from the end/) });
    await truncated.store.close();
  });

  it('with a key, a forged chain recomputed without the key does not verify', async () => {
    const { store, log } = await auditedStore('s3cret-audit-key');
    expect(await log.verify()).toMatchObject({ ok: true, keyed: true });
    // Someone with write access edits event 2 and re-hashes the chain from there, without the key.
    const rows = await store.read((db) => allAuditEvents(db));
    let prev = rows[0]!.hash;
    for (const row of rows.slice(1)) {
      const base = { ...row, reason: row.seq === 2 ? 'forged' : row.reason };
      const hash = chainHash(prev, base);
      await tamper(store, `UPDATE audit_events SET reason = ${base.reason === null ? 'NULL' : `'${base.reason}'`}, prev_hash = '${prev}', hash = '${hash}' WHERE seq = ${row.seq}`);
      prev = hash;
    }
    const forged = await store.read((db) => allAuditEvents(db));
    expect(verifyChain(forged, { key: 's3cret-audit-key' })).toMatchObject({ ok: false, first_broken_seq: 2 });
    // Without the key, plain SHA-256 forgeries would pass: that is what the key is for.
    expect(verifyChain(forged, {})).toMatchObject({ ok: false, first_broken_seq: 1 });
    await store.close();
  });

  it('mcp-blackbox audit verify exits non-zero and names the broken event', async () => {
    const { store, dbPath } = await auditedStore();
    await tamper(store, "UPDATE audit_events SET actor = 'someone_else' WHERE seq = 4");
    await store.close();
    const run = spawnSync(process.execPath, ['dist/cli/main.js', 'audit', 'verify', '--db', dbPath], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/BROKEN at event 4/);
    const mirror = readFileSync(`${dbPath}.audit.jsonl`, 'utf8').trim().split('\n');
    expect(mirror).toHaveLength(5);
  });

  it('audit_log is for admins, and shows events with the chain status', async () => {
    const store = await fixtureStore();
    const admin = await connect(store, ROOT);
    await call(admin, 'trace_execution', { execution_id: 'wf_ok' });
    await call(await connect(store, BEN), 'unmask_execution', { execution_id: 'wf_ok', reason: 'just looking around' });
    const log = (await call(admin, 'audit_log', {})).structuredContent;
    expect(log.events.map((e: any) => [e.seq, e.actor, e.action])).toEqual([[2, 'u_ben', 'unmask_denied'], [1, 'u_root', 'view_execution']]);
    expect(log.chain).toMatchObject({ ok: true, events: 2 });
    const denied = await call(await connect(store, BEN), 'audit_log', {});
    expect(denied.isError).toBe(true);
    expect(text(denied)).toMatch(/Only admins/);
  });
});
