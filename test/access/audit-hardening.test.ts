import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/access/audit.js';
import { fixedClock } from '../../src/clock.js';
import { allAuditEvents } from '../../src/store/audit-events.js';
import { Store } from '../../src/store/store.js';
import { FIXTURE_NOW } from '../fixtures/small-fleet.js';
import { call, connect, fixtureStore, text } from '../mcp/harness.js';
import { tempDir } from '../helpers.js';

const ROOT = { id: 'u_root', role: 'admin' } as const;
const CLI = join(process.cwd(), 'dist/cli/main.js');
const verifyCli = (dbPath: string, ...flags: string[]) =>
  spawnSync(process.execPath, [CLI, 'audit', 'verify', '--db', dbPath, ...flags], { encoding: 'utf8', env: { ...process.env, MCP_BLACKBOX_DB: '' } });

async function auditedDb(events = 5) {
  const dbPath = join(tempDir(), 'audit.duckdb');
  const store = await Store.open({ path: dbPath, clock: fixedClock(new Date(FIXTURE_NOW)) });
  const log = new AuditLog(store, { mirrorPath: `${dbPath}.audit.jsonl` });
  for (let i = 1; i <= events; i++) await log.record(ROOT, { action: 'unmask', target: `e${i}`, reason: `reason number ${i}` });
  return { store, log, dbPath, mirror: `${dbPath}.audit.jsonl` };
}

describe('audit hardening', () => {
  it('an unmask reason needs ten characters other than spaces', async () => {
    const store = await fixtureStore();
    const client = await connect(store, ROOT);
    for (const reason of [' '.repeat(10), ' a b c d e f g h i ', '\t\t\t\t\t\t\t\t\t\tx']) {
      const result = await call(client, 'unmask_execution', { execution_id: 'wf_fail', reason });
      expect(result.isError, JSON.stringify(reason)).toBe(true);
      expect(text(result)).toMatch(/at least 10 characters other than spaces/);
    }
    expect(await store.read((db) => allAuditEvents(db))).toEqual([]);
    expect((await call(client, 'unmask_execution', { execution_id: 'wf_fail', reason: 'INC-42 sync job' })).isError).toBeFalsy();
  });

  it('with the mirror deleted, a truncated tail is not "OK": verify says the mirror is missing, exit 1, unless --without-mirror', async () => {
    const { store, dbPath, mirror } = await auditedDb();
    await store.write((db) => db.run('DELETE FROM audit_events WHERE seq >= 4'));
    await store.close();
    rmSync(mirror);
    const run = verifyCli(dbPath);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/NOT VERIFIED: the mirror file .*audit\.jsonl is missing, so a truncated tail cannot be detected .*--without-mirror/);
    const alone = verifyCli(dbPath, '--without-mirror');
    expect(alone.status).toBe(0);
    expect(alone.stdout).toMatch(/audit chain OK: 3 events.*the mirror was not checked \(--without-mirror\)/);
  });

  it('a mirror line whose content was edited but whose hash was kept is caught', async () => {
    const { store, dbPath, mirror } = await auditedDb();
    await store.close();
    const lines = readFileSync(mirror, 'utf8').trim().split('\n');
    const edited = JSON.parse(lines[2]!);
    edited.reason = 'a more innocent reason';
    lines[2] = JSON.stringify(edited);
    writeFileSync(mirror, `${lines.join('\n')}\n`);
    const run = verifyCli(dbPath);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/BROKEN at event 3: line 3 of the mirror file \(event 3\) was modified/);
  });

  it('a dropped audit table is reported as a broken log, not as a raw catalog error', async () => {
    const { store, dbPath } = await auditedDb();
    await store.write((db) => db.run('DROP TABLE audit_events'));
    await store.close();
    const run = verifyCli(dbPath);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/NOT VERIFIED: the audit_events table is missing from the database/);
    expect(run.stderr).not.toMatch(/Catalog Error/);
  });

  it('views are group-committed: many traces at once become a few audit transactions, with an intact chain', async () => {
    const store = await fixtureStore();
    const client = await connect(store, ROOT);
    let maxQueued = 0;
    const watch = setInterval(() => (maxQueued = Math.max(maxQueued, store.queuedWrites)), 1);
    try {
      await Promise.all(Array.from({ length: 30 }, () => call(client, 'trace_execution', { execution_id: 'wf_ok' })));
      // Views are committed at most a quarter of a second after the answers.
      for (let i = 0; i < 100 && (await store.read((db) => allAuditEvents(db))).length < 30; i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      clearInterval(watch);
    }
    const events = await store.read((db) => allAuditEvents(db));
    expect(events).toHaveLength(30);
    expect(maxQueued).toBeLessThanOrEqual(1);
    const chain = (await call(client, 'audit_log', {})).structuredContent.chain;
    expect(chain).toMatchObject({ ok: true, events: 30 });
  });
});
