import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/access/audit.js';
import { Exporter, exportStatus, SinkRunner } from '../../src/export/exporter.js';
import type { ExportEvent } from '../../src/export/events.js';
import { parseSink } from '../../src/export/sinks.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { blockFromRecords } from '../../src/ingest/lines.js';
import { ClickHouseAuditStorage } from '../../src/store/clickhouse/audit.js';
import { clickhouseExportStore } from '../../src/store/clickhouse/export.js';
import { exportLags } from '../../src/export/export-store.js';
import { clickhouseAnalytics } from '../../src/analytics/clickhouse/index.js';
import { alertSignal } from '../../src/analytics/alert-signals.js';
import { parseRule } from '../../src/alerts/rules.js';
import { sqlTime } from '../../src/clock.js';
import { ClickHouseLease } from '../../src/store/clickhouse/lease.js';
import { CLICKHOUSE_MIGRATIONS, migrateClickHouse } from '../../src/store/clickhouse/schema.js';
import { openTestStore, record, tempDir, TEST_NOW } from '../helpers.js';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CLI = join(process.cwd(), 'dist/cli/main.js');
import { openClickHouseTestStore } from './helpers.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

/** A Splunk HEC receiver on 127.0.0.1 that keeps every event it accepted. */
async function hecReceiver(): Promise<{ url: string; events: ExportEvent[] }> {
  const events: ExportEvent[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      for (const line of body.split('\n').filter(Boolean)) events.push((JSON.parse(line) as { event: ExportEvent }).event);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, events };
}

const at = (minute: number) => new Date(Date.parse('2026-10-30T10:00:00Z') + minute * 60_000).toISOString();
const running = (id: string, minute: number) => record(id, { started_at: at(minute), status: 'running', ended_at: undefined, duration_ms: undefined });
const finished = (id: string, minute: number, extra = {}) => record(id, { started_at: at(minute), ended_at: at(minute + 1), ...extra });

/** What differs by engine only in when each batch was stored. */
const comparable = (e: ExportEvent) => ({ ...e, metadata: { ...e.metadata, logged_time: 0 }, mcp: { ...e.mcp, ingested_at: null } });

async function waitFor(what: string, done: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('export from a ClickHouse store', () => {
  it('migration 6 gives the rows stored before it their own storage time, and rows after it the server\'s time as they land', async () => {
    const ch = await openClickHouseTestStore(TEST_NOW);
    const t = (table: string) => ch.ch.t(table);
    // Back to version 5: no stored_at yet.
    await ch.ch.command(`ALTER TABLE ${t('executions')} DROP INDEX stored_minmax`);
    await ch.ch.command(`ALTER TABLE ${t('executions')} DROP COLUMN stored_at`);
    await ch.ch.command(`ALTER TABLE ${t('audit_events')} DROP COLUMN stored_at`);
    await ch.ch.command(`ALTER TABLE ${t('schema_version')} DELETE WHERE version >= 6 SETTINGS mutations_sync = 2`);
    await ch.ingestLines(blockFromRecords([finished('before', 0)]), 'test');
    await new AuditLog(new ClickHouseAuditStorage(ch.ch, 'host-a')).record({ id: 'u_root', role: 'admin' }, { action: 'unmask', target: 'before', reason: 'INC-1' });
    await sleep(20);
    await migrateClickHouse(ch.ch);
    await ch.ingestLines(blockFromRecords([finished('after', 1)]), 'test');
    const rows = await ch.ch.all<{ id: string; same: number; stored: string; ingested: string }>(
      `SELECT execution_id AS id, stored_at = ingested_at AS same, toString(stored_at) AS stored, toString(ingested_at) AS ingested FROM ${t('executions')} ORDER BY id`,
    );
    expect(rows.map((r) => [r.id, r.same])).toEqual([['after', 0], ['before', 1]]);
    expect(rows[0]!.stored > rows[1]!.stored).toBe(true);
    expect((await ch.ch.one<{ same: number }>(`SELECT stored_at = at AS same FROM ${t('audit_events')}`))!.same).toBe(1);
    expect((await ch.ch.one<{ v: number }>(`SELECT max(version) AS v FROM ${t('schema_version')}`))!.v).toBe(CLICKHOUSE_MIGRATIONS.length);
  });

  it('sends what DuckDB sends for the same deliveries: a running record then its final one, repeats once, an outranked late copy never; the audit log per chain', async () => {
    const duck = await openTestStore(TEST_NOW);
    const ch = await openClickHouseTestStore(TEST_NOW);
    const deliveries = [
      [finished('a', 0, { input: { q: 'token ghp_0123456789abcdefghijABCDEFGHIJ012345' } }), running('b', 1), finished('c', 2, { status: 'failed', error: { type: 'timeout', message: 'took too long' } })],
      [finished('b', 1), finished('a', 0, { input: { q: 'token ghp_0123456789abcdefghijABCDEFGHIJ012345' } })],
      [running('c', 2), finished('d', 3)],
    ];
    const duckHec = await hecReceiver();
    const chHec = await hecReceiver();
    const hecSink = (name: string, url: string) => parseSink(name, { type: 'hec', url, token: 't', streams: ['executions'], batch: 2 });
    const sink = hecSink('siem', chHec.url);
    const chExport = clickhouseExportStore(ch.ch, { settleMs: 0 });
    // "siem" sends after every delivery; "late" once after the last.
    const duckLive = new SinkRunner(duck, 'siem', hecSink('siem', duckHec.url));
    const chLive = new SinkRunner(chExport, 'siem', sink);
    const sentLive: number[] = [];
    for (const records of deliveries) {
      await ingestLines(duck, blockFromRecords(records), 'test');
      await ch.ingestLines(blockFromRecords(records), 'test');
      sentLive.push(await duckLive.drain(), await chLive.drain());
    }
    expect(sentLive).toEqual([3, 3, 1, 1, 1, 1]);
    const duckLate = await hecReceiver();
    const chLate = await hecReceiver();
    expect(await new SinkRunner(duck, 'late', hecSink('late', duckLate.url)).drain()).toBe(4);
    expect(await new SinkRunner(chExport, 'late', hecSink('late', chLate.url)).drain()).toBe(4);
    const what = (events: ExportEvent[]) => events.map((e) => [e.metadata.uid, e.mcp.status]);
    // Sent as each came: b's running record, then its final one; a's repeat and c's late running record never.
    expect(what(duckHec.events)).toEqual([['a', 'succeeded'], ['b', 'running'], ['c', 'failed'], ['b', 'succeeded'], ['d', 'succeeded']]);
    // Read after all of them: b once, at the place of the final record that replaced the running one.
    expect(what(duckLate.events)).toEqual([['a', 'succeeded'], ['c', 'failed'], ['b', 'succeeded'], ['d', 'succeeded']]);
    expect(chHec.events.map(comparable)).toEqual(duckHec.events.map(comparable));
    expect(chLate.events.map(comparable)).toEqual(duckLate.events.map(comparable));
    // The secret in a payload was masked and redacted on both.
    expect(JSON.stringify(chHec.events)).not.toContain('ghp_0123456789');

    // A copy another writer inserted late with a lower version (it read before b's final landed): never sent.
    await ch.ch.command(`INSERT INTO ${ch.ch.t('executions')} SELECT * REPLACE (version - 1 AS version, now64(6) AS stored_at) FROM ${ch.ch.t('executions')} WHERE execution_id = 'b' AND status = 'success'`);
    // Two writers storing the same version: sent once.
    await ch.ch.command(`INSERT INTO ${ch.ch.t('executions')} SELECT * REPLACE (now64(6) AS stored_at) FROM ${ch.ch.t('executions')} WHERE execution_id = 'd'`);
    await ch.ingestLines(blockFromRecords([finished('e', 4)]), 'test');
    const again = new SinkRunner(chExport, 'siem', sink);
    expect(await again.drain()).toBe(1);
    expect(chHec.events.at(-1)!.metadata.uid).toBe('e');
    expect(await exportStatus(chExport, new Map([['siem', sink]]))).toEqual([
      expect.objectContaining({ name: 'siem', lag_events: 0, lag_seconds: null, sent: 6, last_error: null }),
    ]);

    // Audit events: two instances' chains, each event once, each chain verifiable from the export alone.
    const chains = [new ClickHouseAuditStorage(ch.ch, 'host-a'), new ClickHouseAuditStorage(ch.ch, 'host-b')];
    for (const [i, storage] of chains.entries()) {
      const audit = new AuditLog(storage);
      await audit.record({ id: `u_${i}`, role: 'admin' }, { action: 'unmask', target: 'a', reason: `INC-${i} checking` });
      await audit.record({ id: `u_${i}`, role: 'admin' }, { action: 'unmask', target: 'b', reason: `INC-${i} again` });
      await storage.close();
    }
    const auditHec = await hecReceiver();
    const auditSink = parseSink('audit', { type: 'hec', url: auditHec.url, token: 't', streams: ['audit'] });
    expect(await new SinkRunner(chExport, 'audit', auditSink).drain()).toBe(4);
    const byChain = new Map<string, Array<Record<string, unknown>>>();
    for (const event of auditHec.events) {
      const chain = (event.mcp as { chain: Record<string, unknown> & { id: string } }).chain;
      byChain.set(chain.id, [...(byChain.get(chain.id) ?? []), chain]);
      expect(event.metadata.uid).toBe(`audit-${chain.id}-${chain.seq}`);
    }
    expect([...byChain.keys()].sort()).toEqual(['host-a', 'host-b']);
    for (const links of byChain.values()) {
      expect(links.map((l) => l.seq)).toEqual([1, 2]);
      expect(links[1]!.prev_hash).toBe(links[0]!.hash);
    }
    // A SIEM checks each chain from the export alone; an event changed on the way breaks its chain only.
    const file = join(tempDir(), 'siem.ndjson');
    writeFileSync(file, auditHec.events.map((e) => JSON.stringify(e)).join('\n'));
    const verified = spawnSync(process.execPath, [CLI, 'audit', 'verify', '--from-export', file], { encoding: 'utf8' });
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toBe('exported audit chains OK: 2 chain(s), one per instance\n  host-a: OK, events 1 to 2 (2)\n  host-b: OK, events 1 to 2 (2)\n');
    writeFileSync(file, auditHec.events.map((e) => JSON.stringify(e).replaceAll('INC-1 again', 'INC-1 nothing to see')).join('\n'));
    const tampered = spawnSync(process.execPath, [CLI, 'audit', 'verify', '--from-export', file], { encoding: 'utf8' });
    expect(tampered.status).toBe(1);
    expect(tampered.stdout).toBe('exported audit chains BROKEN: 2 chain(s), one per instance\n  host-a: OK, events 1 to 2 (2)\n  host-b: BROKEN at event 2: event 2 does not match its hash: it was changed (or the chain is an HMAC: set MCP_BLACKBOX_AUDIT_KEY)\n');
    // A sink that names no streams takes every stream the store keeps.
    expect(new SinkRunner(chExport, 'every', parseSink('every', { type: 'hec', url: auditHec.url, token: 't' })).sink.streams).toEqual(['executions', 'audit', 'alerts']);
  });

  it('rows still on their way are not passed: a sink reads only rows stored settleMs ago, and a sink that starts now skips what came before', async () => {
    const ch = await openClickHouseTestStore(TEST_NOW);
    await ch.ingestLines(blockFromRecords([finished('old', 0)]), 'test');
    const hec = await hecReceiver();
    const store = clickhouseExportStore(ch.ch, { settleMs: 1_500 });
    const fresh = new SinkRunner(store, 'fresh', parseSink('fresh', { type: 'hec', url: hec.url, token: 't', streams: ['executions'], start: 'now' }));
    const all = new SinkRunner(store, 'all', parseSink('all', { type: 'hec', url: hec.url, token: 't', streams: ['executions'] }));
    expect(await all.drain()).toBe(0);
    await sleep(1_600);
    expect(await fresh.drain()).toBe(0);
    await ch.ingestLines(blockFromRecords([finished('new', 1)]), 'test');
    expect(await fresh.drain()).toBe(0);
    expect(await all.drain()).toBe(1);
    await sleep(1_600);
    expect(await fresh.drain()).toBe(1);
    expect(await all.drain()).toBe(1);
    expect(hec.events.map((e) => e.metadata.uid)).toEqual(['old', 'new', 'new']);
  });

  it('export_lag: the sinks the instances registered lately are watched, a retired or lapsed one is not; the rule fires on the sink behind', async () => {
    const ch = await openClickHouseTestStore(TEST_NOW);
    await ch.ingestLines(blockFromRecords([finished('e1', 0), finished('e2', 1), finished('e3', 2)]), 'test');
    const a = clickhouseExportStore(ch.ch, { settleMs: 0, instance: 'a' });
    const b = clickhouseExportStore(ch.ch, { settleMs: 0, instance: 'b' });
    await a.register([{ name: 'siem', streams: ['executions'] }]);
    await b.register([{ name: 'siem', streams: ['executions', 'audit'] }, { name: 'archive', streams: ['executions'] }]);
    // An instance gone for longer than the registry's period: its sink is no longer watched.
    await ch.ch.insert('export_sinks', [{ instance: 'gone', sink: 'old', streams: 'executions', registered_at: sqlTime(new Date(Date.now() - 10 * 60_000)) }]);
    expect(await a.registered()).toEqual([{ sink: 'archive', streams: ['executions'] }, { sink: 'siem', streams: ['executions', 'audit'] }]);
    const siem = new SinkRunner(a, 'siem', parseSink('siem', { type: 'file', dir: tempDir(), streams: ['executions'] }));
    expect(await siem.drain()).toBe(3);
    expect(await exportLags(a)).toEqual([{ sink: 'archive', events: 3, oldest: expect.any(String) }, { sink: 'siem', events: 0, oldest: null }]);

    const analytics = clickhouseAnalytics(ch.ch, { exportLags: () => exportLags(a) });
    const rule = parseRule({ name: 'siem-behind', kind: 'export_lag', max_events: 2 });
    const now = { from: new Date(), to: new Date() };
    const fired = await alertSignal(analytics.alertSignals, rule, now);
    expect([...fired].map(([sink, points]) => [sink, points.at(-1)!.active, points.at(-1)!.value])).toEqual([['archive', true, 3], ['siem', false, 0]]);
    // b restarts without the archive sink: retired at once.
    await b.register([{ name: 'siem', streams: ['executions'] }]);
    expect((await exportLags(a)).map((l) => l.sink)).toEqual(['siem']);
  });

  it('two instances with the same sink: one sends while it holds the lease, the other takes over when it stops; every execution arrives once', async () => {
    const ch = await openClickHouseTestStore(TEST_NOW);
    const hec = await hecReceiver();
    const sinks = new Map([['siem', parseSink('siem', { type: 'hec', url: hec.url, token: 't', streams: ['executions', 'audit'], batch: 7 })]]);
    const instance = (holder: string) => {
      const exporter = new Exporter(clickhouseExportStore(ch.ch, { settleMs: 200 }), sinks, {
        pollMs: 50,
        // A long term: a handover here is a clean stop's release, never a term lost to a slow tick.
        lease: (sink) => new ClickHouseLease(ch.ch, `export:${sink}`, `${holder}:${sink}`, { ttlMs: 6_000, settleMs: 200 }),
      });
      return exporter;
    };
    const [a, b] = [instance('a'), instance('b')];
    const audit = new AuditLog(new ClickHouseAuditStorage(ch.ch, 'host-a'));
    await a.start(audit);
    await b.start(audit);
    let stopped = false;
    closers.push(async () => {
      if (!stopped) await a.stop();
      await b.stop();
    });
    // Both instances ingest while both exporters run.
    const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => `x${String(from + i).padStart(3, '0')}`);
    for (let i = 0; i < 6; i++) await ch.ingestLines(blockFromRecords(ids(i * 5, 5).map((id, j) => finished(id, i * 5 + j))), 'test');
    const executionUids = () => hec.events.filter((e) => e.metadata.log_name === 'executions').map((e) => e.metadata.uid);
    await waitFor('the first 30 executions', () => executionUids().length >= 30);
    const holder = (await ch.ch.one<{ holder: string }>(`SELECT holder FROM ${ch.ch.t('leases')} WHERE kind = 'hold' ORDER BY at DESC LIMIT 1`))!.holder;
    expect(['a:siem', 'b:siem']).toContain(holder);
    // The holder stops (a rolling restart): it releases the lease, and the other instance takes over.
    const [gone, stays] = holder === 'a:siem' ? [a, b] : [b, a];
    await gone.stop();
    if (gone === a) stopped = true;
    else {
      // b is gone: the closer stops a instead.
      closers.pop();
      closers.push(() => a.stop());
    }
    for (let i = 6; i < 8; i++) await ch.ingestLines(blockFromRecords(ids(i * 5, 5).map((id, j) => finished(id, i * 5 + j))), 'test');
    await waitFor('all 40 executions', () => executionUids().length >= 40);
    await sleep(500);
    expect(executionUids()).toEqual(ids(0, 40));
    const status = await exportStatus(clickhouseExportStore(ch.ch, { settleMs: 200 }), sinks);
    expect(status[0]).toMatchObject({ lag_events: 0, sent: 40 });
    const holds = await ch.ch.all<{ term: number; holder: string }>(`SELECT DISTINCT term, holder FROM ${ch.ch.t('leases')} WHERE kind = 'hold' ORDER BY term`);
    expect(holds.map((h) => h.holder)).toEqual([holder, stays === a ? 'a:siem' : 'b:siem']);
  });
});

