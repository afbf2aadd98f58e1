import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { duckdbAlertStore, type AlertStore } from '../../src/alerts/alert-store.js';
import { parseChannel } from '../../src/alerts/channels.js';
import { Delivery } from '../../src/alerts/delivery.js';
import { AlertEngine } from '../../src/alerts/engine.js';
import { parseRule } from '../../src/alerts/rules.js';
import { clickhouseAnalytics } from '../../src/analytics/clickhouse/index.js';
import { fixedClock } from '../../src/clock.js';
import { clickhouseAlertStore } from '../../src/store/clickhouse/alerts.js';
import { INCIDENT_NOW } from '../fixtures/incident-fleet.js';
import { loadIncidents } from './helpers.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportStoreOf } from '../../src/export/export-store.js';
import { SinkRunner } from '../../src/export/exporter.js';
import type { ExportEvent } from '../../src/export/events.js';
import { parseSink } from '../../src/export/sinks.js';
import { clickhouseExportStore } from '../../src/store/clickhouse/export.js';
import { tempDir } from '../helpers.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { leasedAlerting } from '../../src/alerts/leased.js';
import { ClickHouseLease } from '../../src/store/clickhouse/lease.js';
import type { LeaseKeeper } from '../../src/store/lease.js';

async function waitFor(what: string, done: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

// The incidents planted in the fixture, one rule of each kind that watches history.
const RULES = [
  { name: 'jira-errors', kind: 'error_rate', group_by: 'tool', window: '15m', threshold: 0.2, min_executions: 10, for: '5m', channels: ['hooks'] },
  { name: 'fleet-spike', kind: 'volume_spike', factor: 3, min_count: 50, channels: ['hooks'] },
  { name: 'team-daily-tasks', kind: 'budget', measure: 'tasks', period: 'day', limit: 500, group_by: 'team', warn_projected: false, channels: ['hooks'] },
  { name: 'feed-quiet', kind: 'feed_silence', silent_for: '30m', group_by: 'environment', channels: ['hooks'] },
  { name: 'unmask-burst', kind: 'unmask_activity', actions: ['unmask'], window: '1h', threshold: 5, channels: ['hooks'] },
  { name: 'docs-tools-changed', kind: 'tool_definition_changed', window: '1h', channels: ['hooks'] },
].map((r) => parseRule(r));

/** Cycles six hours apart over the incident days, as after pauses: each evaluates every minute since the last. */
async function evaluateIncidents(alerts: AlertStore): Promise<void> {
  for (const rule of RULES) await alerts.putRule({ name: rule.name, kind: rule.kind, rule: JSON.stringify(rule), origin: 'file', by: 'test', at: new Date(INCIDENT_NOW) });
  const engine = new AlertEngine(alerts, { clock: fixedClock(new Date(INCIDENT_NOW)), catchUpMs: 6 * 3_600_000 });
  for (let at = Date.parse('2026-11-10T00:00:00Z'); at <= Date.parse(INCIDENT_NOW); at += 6 * 3_600_000) {
    const results = await engine.evaluate({ at: new Date(at) });
    expect(results.filter((r) => r.error)).toEqual([]);
  }
}

/** A webhook receiver on 127.0.0.1 that keeps what it was sent. */
async function receiver(): Promise<{ url: string; received: Array<{ rule: string; status: string; fingerprint: string }> }> {
  const received: Array<{ rule: string; status: string; fingerprint: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      // Alertmanager's webhook format.
      const message = JSON.parse(body) as { status: string; alerts: Array<{ labels: { alertname: string }; fingerprint: string }> };
      received.push({ rule: message.alerts[0]!.labels.alertname, status: message.status, fingerprint: message.alerts[0]!.fingerprint });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

describe('alerting on a ClickHouse store', () => {
  it('the engine fires, reminds and resolves at the same ticks as on DuckDB, with the same explanations, states and notifications', async () => {
    const { store, ch } = await loadIncidents();
    const duck = duckdbAlertStore(store);
    const house = clickhouseAlertStore(ch.ch, clickhouseAnalytics(ch.ch));
    await evaluateIncidents(duck);
    await evaluateIncidents(house);
    const range = { from: new Date('2026-11-01T00:00:00Z'), to: new Date(INCIDENT_NOW), limit: 500 };
    const [dh, hh] = await Promise.all([duck.history(range), house.history(range)]);
    expect(hh).toEqual(dh);
    expect(dh.filter((h) => h.event === 'firing').map((h) => h.rule).sort()).toEqual(RULES.map((r) => r.name).sort());
    expect(await house.states()).toEqual(await duck.states());
    // Notifications: the same messages in the same order; ids and the wall-clock queue times are each store's own.
    const owed = async (alerts: AlertStore) => (await alerts.notifications({ limit: 500 })).map(({ id: _i, created_at: _c, next_attempt_at: _n, ...n }) => n);
    expect(await owed(house)).toEqual(await owed(duck));
    expect((await house.ticks()).map((t) => [t.rule, t.last_tick]).sort()).toEqual((await duck.ticks()).map((t) => [t.rule, t.last_tick]).sort());
    expect(await house.health()).toMatchObject({ rules: RULES.length, notifications_owed: dh.filter((h) => !h.silenced).length });

    // The alert stream of the SIEM export: the same events from both engines, named by their transition on ClickHouse.
    const exported = async (store: Parameters<typeof exportStoreOf>[0]) => {
      const file = join(tempDir(), 'alerts');
      await new SinkRunner(store, 'siem', parseSink('siem', { type: 'file', dir: file, streams: ['alerts'] })).drain();
      return readFileSync(join(file, 'mcp-blackbox.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ExportEvent);
    };
    const [fromDuck, fromHouse] = [await exported(store), await exported(clickhouseExportStore(ch.ch, { settleMs: 0 }))];
    const same = (e: ExportEvent) => ({ ...e, metadata: { ...e.metadata, uid: '', sequence: 0 } });
    const byTime = (a: ExportEvent, b: ExportEvent) => a.time - b.time || JSON.stringify(a.mcp).localeCompare(JSON.stringify(b.mcp));
    expect(fromHouse.map(same).sort(byTime)).toEqual(fromDuck.map(same).sort(byTime));
    expect(fromHouse).toHaveLength(dh.length);
    expect(new Set(fromHouse.map((e) => e.metadata.uid)).size).toBe(dh.length);

    // Delivered from ClickHouse's queue: each once, in order per channel, the queue emptied.
    const hook = await receiver();
    const delivery = new Delivery(house, new Map([['hooks', parseChannel('hooks', { type: 'webhook', url: hook.url })]]));
    await delivery.deliverDue();
    const queued = (await duck.notifications({ limit: 500 })).reverse();
    expect(hook.received).toEqual(queued.map((n) => ({ rule: n.rule, status: n.event === 'resolved' ? 'resolved' : 'firing', fingerprint: n.fingerprint })));
    expect(await house.health()).toMatchObject({ notifications_owed: 0, oldest_owed: null });
    const first = (await house.notifications({ limit: 1 }))[0]!;
    expect(first).toMatchObject({ attempts: 1, last_status: 200, next_attempt_at: null });
    expect(await house.deliveries(first.id)).toEqual([expect.objectContaining({ attempt: 1, status: 200, error: null })]);

    // A rule removed takes its states and tick with it; its history stays.
    expect(await house.removeRule('jira-errors')).toBe(true);
    expect(await house.removeRule('jira-errors')).toBe(false);
    expect((await house.rules()).map((r) => r.name)).not.toContain('jira-errors');
    expect((await house.states('jira-errors'))).toEqual([]);
    expect((await house.ticks()).map((t) => t.rule)).not.toContain('jira-errors');
    expect((await house.history({ ...range, rule: 'jira-errors' })).length).toBeGreaterThan(0);
  });

  it('two instances: only the holder of the alerts lease evaluates and delivers; the other takes over when it stops', async () => {
    const { ch } = await loadIncidents();
    const hook = await receiver();
    const channels = new Map([['hooks', parseChannel('hooks', { type: 'webhook', url: hook.url })]]);
    const alerts = clickhouseAlertStore(ch.ch, clickhouseAnalytics(ch.ch));
    const put = async (name: string) => {
      const rule = parseRule({ name, kind: 'failures', threshold: 0, window: '7d', channels: ['hooks'] });
      await alerts.putRule({ name, kind: rule.kind, rule: JSON.stringify(rule), origin: 'tool', by: 'test', at: new Date(INCIDENT_NOW) });
    };
    await put('first');
    // Evaluating every 200 ms at one pinned tick: had both instances evaluated, a firing could be stored twice.
    const instance = (holder: string) =>
      leasedAlerting(alerts, new ClickHouseLease(ch.ch, 'alerts', holder, { ttlMs: 6_000, settleMs: 200 }), { channels, clock: fixedClock(new Date(INCIDENT_NOW)), intervalMs: 200 });
    const a = instance('a');
    const b = instance('b');
    a.start();
    b.start();
    let stopped: LeaseKeeper | undefined;
    closers.push(async () => {
      for (const keeper of [a, b]) if (keeper !== stopped) await keeper.stop();
    });
    await waitFor('the first rule to fire', () => hook.received.length >= 1);
    await sleep(1_000);
    const holder = a.lease.held() ? a : b;
    expect([a, b].filter((k) => k.lease.held())).toEqual([holder]);
    // The holder stops (a rolling restart): it releases the lease; the other takes over and fires the next rule.
    await holder.stop();
    stopped = holder;
    await put('second');
    await waitFor('the second rule to fire', () => hook.received.length >= 2);
    await sleep(1_000);
    expect(hook.received.map((r) => [r.rule, r.status])).toEqual([['first', 'firing'], ['second', 'firing']]);
    const history = await alerts.history({ from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-11-16T00:00:00Z'), limit: 10 });
    expect(history.map((h) => [h.rule, h.event]).sort()).toEqual([['first', 'firing'], ['second', 'firing']]);
    const terms = await ch.ch.all<{ term: number; holder: string }>(`SELECT DISTINCT term, holder FROM ${ch.ch.t('leases')} WHERE name = 'alerts' AND kind = 'hold' ORDER BY term`);
    expect(terms.map((t) => t.holder)).toEqual([holder.lease.holder, (holder === a ? b : a).lease.holder]);
  });
});
