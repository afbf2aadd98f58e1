import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseChannel, type Channel } from '../../src/alerts/channels.js';
import { Delivery } from '../../src/alerts/delivery.js';
import { AlertEngine } from '../../src/alerts/engine.js';
import { parseAlertsConfig } from '../../src/alerts/manage.js';
import { parseRule } from '../../src/alerts/rules.js';
import { fixedClock } from '../../src/clock.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { blockFromRecords } from '../../src/ingest/lines.js';
import { deliveryRows, notificationRows, putRule } from '../../src/store/alerts.js';
import { Store } from '../../src/store/store.js';
import { record, tempDir } from '../helpers.js';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A receiver on 127.0.0.1 that answers with the statuses given, in turn (the last one after). */
async function receiver(statuses: number[]): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  let i = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = statuses[Math.min(i++, statuses.length - 1)]!;
      res.writeHead(status, { 'content-type': 'application/json' }).end(status < 300 ? '{"status":"success"}' : '{"error":"try later"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

const NOW = '2026-11-10T15:00:00Z';
const SECRET = `whsec_${Buffer.from('a-test-secret-of-enough-bytes!!').toString('base64')}`;

/** A store where jira_create_issue fails 12 times in the last 15 minutes before NOW. */
async function failingFleet(path = join(tempDir(), 'alerts.duckdb')): Promise<Store> {
  const store = await Store.open({ path, clock: fixedClock(new Date(NOW)) });
  const records = Array.from({ length: 12 }, (_, i) =>
    record(`f_${i}`, {
      started_at: new Date(Date.parse(NOW) - (14 - i) * 60_000).toISOString(),
      ended_at: new Date(Date.parse(NOW) - (14 - i) * 60_000 + 500).toISOString(),
      status: 'failed',
      error: { type: 'http_500', message: 'upstream said 500', layer: 'connector' },
    }),
  );
  await ingestLines(store, blockFromRecords(records), 'test');
  return store;
}

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function fireAndResolve(store: Store, channels: string[]): Promise<void> {
  const rule = parseRule({ name: 'jira-failures', kind: 'failures', window: '15m', threshold: 10, channels, severity: 'critical' });
  await store.write((db) => putRule(db, { name: rule.name, kind: rule.kind, rule: JSON.stringify(rule), origin: 'file', by: 'test', at: new Date(NOW) }));
  const engine = new AlertEngine(store, { clock: fixedClock(new Date(NOW)) });
  await engine.evaluate({ at: new Date(NOW) });
  // 20 minutes later the failures have left the window.
  await engine.evaluate({ at: new Date(Date.parse(NOW) + 20 * 60_000) });
}

describe('notification channels, against real receivers on 127.0.0.1', () => {
  it('webhook: the Alertmanager v4 shape, signed with Standard Webhooks; a 500 is retried until the 200', async () => {
    const hook = await receiver([500, 200]);
    closers.push(hook.close);
    const store = await failingFleet();
    closers.push(() => store.close());
    const channels = new Map<string, Channel>([['hooks', parseChannel('hooks', { type: 'webhook', url: `${hook.url}/alerts`, secret: SECRET })]]);
    await fireAndResolve(store, ['hooks']);
    const delivery = new Delivery(store, channels, { backoffMs: 20 });
    delivery.start();
    closers.push(() => delivery.stop());
    await until(async () => (await store.read((db) => notificationRows(db, { limit: 10, undelivered: true }))).length === 0 && hook.received.length === 3);

    // Firing was answered 500 then 200; resolved 200 at once: 3 requests, the first two the same message.
    expect(hook.received.map((r) => r.path)).toEqual(['/alerts', '/alerts', '/alerts']);
    const [first, retry, resolved] = hook.received.map((r) => ({ ...r, json: JSON.parse(r.body) }));
    expect(retry!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(first!.json).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'hooks',
      groupLabels: { alertname: 'jira-failures' },
      commonLabels: { alertname: 'jira-failures', severity: 'critical', kind: 'failures' },
      alerts: [{ status: 'firing', labels: { alertname: 'jira-failures' }, endsAt: '0001-01-01T00:00:00Z', startsAt: NOW.replace('Z', '.000Z'), value: 12, threshold: 10 }],
    });
    expect(first!.json.alerts[0].fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(first!.json.alerts[0].explanation.sample_execution_ids).toContain('f_11');
    expect(resolved!.json).toMatchObject({ status: 'resolved', alerts: [{ status: 'resolved', fingerprint: first!.json.alerts[0].fingerprint }] });
    // At 15:03 the window [14:48, 15:03) holds 10 failures, no longer more than 10.
    expect(resolved!.json.alerts[0].endsAt).toBe('2026-11-10T15:03:00.000Z');
    // The signature, checked as a receiver would: HMAC-SHA256 of id.timestamp.body with the decoded secret.
    for (const r of hook.received) {
      const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
      const expected = createHmac('sha256', key).update(`${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`).digest('base64');
      expect(r.headers['webhook-signature']).toBe(`v1,${expected}`);
    }
    // The delivery log: attempt 1 got 500, attempt 2 got 200.
    const sent = await store.read((db) => notificationRows(db, { limit: 10 }));
    const firing = sent.find((n) => n.event === 'firing')!;
    expect(firing).toMatchObject({ attempts: 2, last_status: 200, last_error: null });
    expect((await store.read((db) => deliveryRows(db, firing.id))).map((d) => [d.attempt, d.status])).toEqual([[1, 500], [2, 200]]);
  });

  it('Slack: text and blocks; PagerDuty: trigger then resolve with the same dedup key', async () => {
    const slack = await receiver([200]);
    const pd = await receiver([202]);
    closers.push(slack.close, pd.close);
    const store = await failingFleet();
    closers.push(() => store.close());
    const channels = new Map<string, Channel>([
      ['team-chat', parseChannel('team-chat', { type: 'slack', url: `${slack.url}/services/T0/B0/xyz` })],
      ['oncall', parseChannel('oncall', { type: 'pagerduty', routing_key: 'R0UTINGKEY0000000000000000000000', url: `${pd.url}/v2/enqueue` })],
    ]);
    await fireAndResolve(store, ['team-chat', 'oncall']);
    const delivery = new Delivery(store, channels, { backoffMs: 20 });
    delivery.start();
    closers.push(() => delivery.stop());
    await until(async () => slack.received.length === 2 && pd.received.length === 2);

    const [slackFiring, slackResolved] = slack.received.map((r) => JSON.parse(r.body));
    expect(slackFiring.text).toContain('Firing: jira-failures');
    expect(slackFiring.text).toContain('12 against a threshold of 10');
    expect(slackFiring.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'section', 'context']);
    expect(slackResolved.text).toContain('Resolved: jira-failures');

    const [trigger, resolve] = pd.received.map((r) => JSON.parse(r.body));
    expect(trigger).toMatchObject({
      routing_key: 'R0UTINGKEY0000000000000000000000',
      event_action: 'trigger',
      payload: { source: 'mcp-blackbox', severity: 'critical', group: 'jira-failures', class: 'failures' },
    });
    expect(trigger.payload.summary.length).toBeLessThanOrEqual(1024);
    expect(resolve).toEqual({ routing_key: 'R0UTINGKEY0000000000000000000000', event_action: 'resolve', dedup_key: trigger.dedup_key });
  });

  it('nothing is lost across a restart: what a down receiver missed is sent by the next process', async () => {
    const path = join(tempDir(), 'restart.duckdb');
    const store = await failingFleet(path);
    // Nothing listens on this port: every attempt fails to connect.
    const down = await receiver([200]);
    const deadUrl = down.url;
    await down.close();
    await fireAndResolve(store, ['hooks']);
    const before = new Delivery(store, new Map([['hooks', parseChannel('hooks', { type: 'webhook', url: deadUrl })]]), { backoffMs: 20, maxBackoffMs: 50 });
    before.start();
    await until(async () => (await store.read((db) => notificationRows(db, { limit: 10 }))).some((n) => n.attempts >= 2));
    await before.stop();
    // The firing failed twice; the resolution waits behind it, never sent ahead of it.
    const failed = await store.read((db) => notificationRows(db, { limit: 10 }));
    expect(failed.map((n) => [n.event, n.delivered_at, n.attempts > 0, n.last_error])).toEqual([
      ['resolved', null, false, null],
      ['firing', null, true, expect.stringMatching(/^could not connect \(ECONNREFUSED\)/)],
    ]);
    await store.close();

    // A new process, the receiver back up (on another port: the config says where it is now).
    const up = await receiver([200]);
    closers.push(up.close);
    const reopened = await Store.open({ path, clock: fixedClock(new Date(NOW)) });
    closers.push(() => reopened.close());
    const after = new Delivery(reopened, new Map([['hooks', parseChannel('hooks', { type: 'webhook', url: up.url })]]), { backoffMs: 20, maxBackoffMs: 50 });
    after.start();
    closers.push(() => after.stop());
    await until(async () => up.received.length === 2);
    // In order: the firing before its resolution.
    expect(up.received.map((r) => JSON.parse(r.body).status)).toEqual(['firing', 'resolved']);
    // The delivery is recorded just after the receiver answers.
    await until(async () => (await reopened.read((db) => notificationRows(db, { limit: 10, undelivered: true }))).length === 0);
  });

  it('a bad channel never stops the others: a 404 is given up at once, the good channel still gets its message', async () => {
    const bad = await receiver([404]);
    const good = await receiver([200]);
    closers.push(bad.close, good.close);
    const store = await failingFleet();
    closers.push(() => store.close());
    await fireAndResolve(store, ['broken', 'fine']);
    const delivery = new Delivery(store, new Map([
      ['broken', parseChannel('broken', { type: 'webhook', url: bad.url })],
      ['fine', parseChannel('fine', { type: 'webhook', url: good.url })],
    ]), { backoffMs: 20 });
    delivery.start();
    closers.push(() => delivery.stop());
    await until(async () => good.received.length === 2 && bad.received.length === 2);
    await until(async () => (await store.read((db) => notificationRows(db, { limit: 10 }))).filter((n) => n.channel === 'broken').every((n) => n.last_error !== null));
    const broken = (await store.read((db) => notificationRows(db, { limit: 10 }))).filter((n) => n.channel === 'broken');
    expect(broken.map((n) => [n.attempts, n.next_attempt_at, n.last_error])).toEqual([
      [1, null, expect.stringMatching(/^HTTP 404.*gave up after 1 attempt/)],
      [1, null, expect.stringMatching(/^HTTP 404.*gave up after 1 attempt/)],
    ]);
  });

  it('bad channel config: not http(s), unknown type, a missing env secret; a rule naming an unknown channel; nothing echoes the secret', () => {
    expect(() => parseChannel('x', { type: 'webhook', url: 'ftp://example.com/hook' })).toThrow(/channel x \(webhook\): url: must be an http\(s\) URL/);
    expect(() => parseChannel('x', { type: 'webhook', url: 'javascript:alert(1)' })).toThrow(/must be an http\(s\) URL/);
    expect(() => parseChannel('x', { type: 'email', url: 'https://example.com' })).toThrow(/unknown type "email"; type is one of webhook, slack, pagerduty/);
    expect(() => parseChannel('x', { type: 'slack', url: 'env:NO_SUCH_SLACK_URL' }, {})).toThrow(/NO_SUCH_SLACK_URL is not set/);
    expect(parseChannel('x', { type: 'slack', url: 'env:SLACK_URL' }, { SLACK_URL: 'https://hooks.slack.com/services/T/B/secret' })).toEqual({ type: 'slack', url: 'https://hooks.slack.com/services/T/B/secret' });
    const secretUrl = 'not a url with s3cr3t-token';
    try {
      parseChannel('x', { type: 'slack', url: secretUrl });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain('s3cr3t');
    }
    expect(() => parseAlertsConfig({ channels: {}, rules: [{ name: 'r', kind: 'failures', channels: ['pager'] }] }, 'alerts.json')).toThrow(
      /rule r names channel\(s\) pager, which are not configured; no channel is configured/,
    );
  });
});
