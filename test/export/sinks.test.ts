import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuditLog } from '../../src/access/audit.js';
import { fixedClock } from '../../src/clock.js';
import { Exporter, exportStatus, replay, SinkRunner } from '../../src/export/exporter.js';
import { parseSink } from '../../src/export/sinks.js';
import { decodeOtlp } from '../../src/ingest/otlp-proto.js';
import { AlertEngine } from '../../src/alerts/engine.js';
import { parseRule } from '../../src/alerts/rules.js';
import { historyRows, putRule } from '../../src/store/alerts.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { blockFromRecords } from '../../src/ingest/lines.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore, record, tempDir } from '../helpers.js';

interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  raw: Buffer;
}

/** A receiver on 127.0.0.1: `answer` decides each reply from what came. */
async function receiver(answer: (r: Received, i: number) => { status: number; body: unknown }) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const r = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: raw.toString('utf8'), raw };
      received.push(r);
      const { status, body: out } = answer(r, received.length - 1);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

// Secrets planted where a careless gateway puts them: payload values, a key name, an error text.
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const GH_TOKEN = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';
const PASSWORD = 'hunter2-very-secret';

async function fleet(n = 25): Promise<Store> {
  const store = await openTestStore('2026-11-01T00:00:00Z');
  const records = Array.from({ length: n }, (_, i) =>
    record(`ex_${String(i).padStart(3, '0')}`, {
      started_at: new Date(Date.parse('2026-10-30T10:00:00Z') + i * 60_000).toISOString(),
      ended_at: new Date(Date.parse('2026-10-30T10:00:00Z') + i * 60_000 + 800).toISOString(),
      input: { query: `find ${AWS_KEY}`, password: PASSWORD, nested: { note: `token ${GH_TOKEN}` } },
      output: { ok: true, echo: PASSWORD },
      ...(i % 5 === 0 ? { status: 'failed', error: { type: 'auth_failed', message: `rejected ${GH_TOKEN}`, layer: 'auth' } } : {}),
    }),
  );
  await ingestLines(store, blockFromRecords(records), 'test');
  const audit = new AuditLog(store);
  await audit.record({ id: 'u_root', role: 'admin' }, { action: 'unmask', target: 'ex_000', reason: 'INC-1 checking the payload' });
  await audit.record({ id: 'u_ben', role: 'member' }, { action: 'unmask_denied', target: 'ex_001', reason: 'curious about it' });
  return store;
}

const noSecrets = (text: string) => {
  for (const secret of [AWS_KEY, GH_TOKEN, PASSWORD]) expect(text).not.toContain(secret);
};

describe('export sinks against receivers on 127.0.0.1', () => {
  it('Splunk HEC: batched events with time, host, source, sourcetype, index, event and fields; Authorization: Splunk <token>; masked', async () => {
    const hec = await receiver(() => ({ status: 200, body: { text: 'Success', code: 0 } }));
    const store = await fleet();
    const sink = parseSink('splunk', { type: 'hec', url: hec.url, token: 'hec-token-1234', index: 'mcp', batch: 10 });
    const runner = new SinkRunner(store, 'splunk', sink);
    expect(await runner.drain()).toBe(27);
    // 25 executions in batches of 10, and the audit stream's two events with the first.
    expect(hec.received.map((r) => r.body.split('\n').length)).toEqual([12, 10, 5]);
    for (const r of hec.received) {
      expect(r).toMatchObject({ method: 'POST', path: '/services/collector/event', headers: { authorization: 'Splunk hec-token-1234', 'content-type': 'application/json' } });
      expect(r.headers['x-splunk-request-channel']).toMatch(/^[0-9a-f-]{36}$/);
      noSecrets(r.body);
    }
    const events = hec.received.flatMap((r) => r.body.split('\n').map((line) => JSON.parse(line)));
    const first = events[0];
    expect(Object.keys(first).sort()).toEqual(['event', 'fields', 'host', 'index', 'source', 'sourcetype', 'time']);
    expect(first).toMatchObject({ time: Date.parse('2026-10-30T10:00:00Z') / 1000, source: 'mcp-blackbox', sourcetype: 'mcp:blackbox', index: 'mcp', fields: { kind: 'execution', outcome: 'failure', actor: 'u_ana', tool: 'jira_create_issue' } });
    expect(first.event).toMatchObject({
      class_uid: 6003, class_name: 'API Activity', category_uid: 6, type_uid: 600399, activity_name: 'tools/call', status: 'Failure', status_code: 'auth_failed',
      api: { operation: 'tools/call', service: { name: 'eng-gateway' }, request: { uid: 'ex_000' } },
      actor: { user: { uid: 'u_ana', groups: [{ name: 'revops' }] }, app_name: 'claude-desktop' },
      event: { kind: 'event', category: ['api'], action: 'tools/call', outcome: 'failure' },
      metadata: { log_name: 'executions', uid: 'ex_000', product: { name: 'mcp-blackbox' } },
    });
    // Masked as for a non-owner: the shape stays, the values do not.
    expect(first.event.api.request.data.query).toBe('<masked string, ~25 chars>');
    expect(events.map((e) => e.event.metadata.uid)).toEqual([...Array.from({ length: 10 }, (_, i) => `ex_00${i}`), 'audit-1', 'audit-2', ...Array.from({ length: 15 }, (_, i) => `ex_0${String(i + 10).padStart(2, '0')}`)]);
    expect(events.find((e) => e.event.metadata.uid === 'audit-2').event).toMatchObject({ status: 'Failure', event: { outcome: 'failure', action: 'unmask_denied' }, mcp: { chain: { seq: 2, actor: 'u_ben' } } });
    // Caught up: nothing more to send.
    expect(await runner.drain()).toBe(0);
  });

  it('masked: a secret in any field of the record (user, team, client, session, server, tool, error, source, keys) never leaves', async () => {
    const store = await openTestStore('2026-11-01T00:00:00Z');
    await ingestLines(store, blockFromRecords([record('leaky', {
      user: { id: AWS_KEY, email: `${GH_TOKEN}@example.com`, name: `password=${PASSWORD}`, team: GH_TOKEN },
      agent: { client: AWS_KEY, session_id: GH_TOKEN },
      tool: { name: `tool_${AWS_KEY}`, kind: 'connector', server: GH_TOKEN },
      environment: AWS_KEY,
      input: { [GH_TOKEN]: 'a key that is a secret', [`password=${PASSWORD}`]: 1 },
      status: 'failed',
      error: { type: AWS_KEY, message: `password=${PASSWORD}`, layer: 'tool' },
    })]), `file-${GH_TOKEN}`);
    const otlp = await receiver(() => ({ status: 200, body: {} }));
    const hec = await receiver(() => ({ status: 200, body: { text: 'Success', code: 0 } }));
    const dir = tempDir();
    for (const [name, config] of [
      ['otel', { type: 'otlp_logs', url: `${otlp.url}/v1/logs` }],
      ['splunk', { type: 'hec', url: hec.url, token: 't' }],
      ['files', { type: 'file', dir }],
    ] as const) {
      expect(await new SinkRunner(store, name, parseSink(name, { ...config, streams: ['executions'] })).drain()).toBe(1);
    }
    noSecrets(otlp.received[0]!.body);
    noSecrets(hec.received[0]!.body);
    noSecrets(readFileSync(join(dir, 'mcp-blackbox.ndjson'), 'utf8'));
  });

  it('HEC indexer acknowledgement: the cursor waits for the ack', async () => {
    let polls = 0;
    const hec = await receiver((r) => {
      if (r.path === '/services/collector/event') return { status: 200, body: { text: 'Success', code: 0, ackId: 7 } };
      polls++;
      return { status: 200, body: { acks: { 7: polls >= 3 } } };
    });
    const store = await fleet(3);
    const runner = new SinkRunner(store, 'splunk', parseSink('splunk', { type: 'hec', url: hec.url, token: 't0k3n', ack: true, streams: ['executions'] }));
    expect(await runner.drain()).toBe(3);
    expect(hec.received.map((r) => r.path)).toEqual(['/services/collector/event', '/services/collector/ack', '/services/collector/ack', '/services/collector/ack']);
    expect(JSON.parse(hec.received[1]!.body)).toEqual({ acks: [7] });
    expect(hec.received[1]!.headers['x-splunk-request-channel']).toBe(hec.received[0]!.headers['x-splunk-request-channel']);
  });

  it('OTLP logs: resourceLogs with the MCP attribute names, the event as the body', async () => {
    const otlp = await receiver(() => ({ status: 200, body: {} }));
    const store = await fleet(5);
    const runner = new SinkRunner(store, 'collector', parseSink('collector', { type: 'otlp_logs', url: `${otlp.url}/v1/logs`, headers: { 'x-scope-orgid': 'tenant-1' } }));
    expect(await runner.drain()).toBe(7);
    const [request] = otlp.received;
    expect(request).toMatchObject({ method: 'POST', path: '/v1/logs', headers: { 'content-type': 'application/json', 'x-scope-orgid': 'tenant-1' } });
    noSecrets(request!.body);
    const body = JSON.parse(request!.body);
    expect(body.resourceLogs[0].resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'mcp-blackbox' } });
    const records = body.resourceLogs[0].scopeLogs[0].logRecords;
    expect(records).toHaveLength(7);
    const attrs = Object.fromEntries(records[0].attributes.map((a: { key: string; value: Record<string, unknown> }) => [a.key, Object.values(a.value)[0]]));
    expect(attrs).toMatchObject({ 'gen_ai.tool.name': 'jira_create_issue', 'mcp.method.name': 'tools/call', 'mcp.session.id': 's_1', 'error.type': 'auth_failed', 'user.id': 'u_ana', 'event.name': 'mcp_blackbox.execution' });
    expect(records[0]).toMatchObject({ timeUnixNano: `${Date.parse('2026-10-30T10:00:00Z')}000000`, severityNumber: 13, severityText: 'WARN' });
    expect(JSON.parse(records[0].body.stringValue).class_uid).toBe(6003);
  });

  it('OTLP logs in protobuf: what a collector decodes with the official protos', async () => {
    const otlp = await receiver(() => ({ status: 200, body: {} }));
    const store = await fleet(3);
    const runner = new SinkRunner(store, 'collector', parseSink('collector', { type: 'otlp_logs', url: `${otlp.url}/v1/logs`, encoding: 'protobuf', streams: ['executions'] }));
    expect(await runner.drain()).toBe(3);
    expect(otlp.received[0]!.headers['content-type']).toBe('application/x-protobuf');
    const decoded = decodeOtlp('logs', otlp.received[0]!.raw) as { resourceLogs: Array<{ scopeLogs: Array<{ logRecords: Array<{ attributes: Array<{ key: string }>; severityText: string }> }> }> };
    const records = decoded.resourceLogs[0]!.scopeLogs[0]!.logRecords;
    expect(records).toHaveLength(3);
    expect(records[0]!.attributes.map((a) => a.key)).toContain('gen_ai.tool.name');
    expect(records[0]!.severityText).toBe('WARN');
  });

  it('a receiver down, then up: every event delivered once, in order, the cursor never ahead; status shows lag and the last error', async () => {
    let up = false;
    const accepted: string[] = [];
    const hec = await receiver((r) => {
      if (!up) return { status: 503, body: { text: 'Server is busy', code: 9 } };
      accepted.push(r.body);
      return { status: 200, body: { text: 'Success', code: 0 } };
    });
    const store = await fleet(25);
    const sinks = new Map([['splunk', parseSink('splunk', { type: 'hec', url: hec.url, token: 't', batch: 10, streams: ['executions'] })]]);
    const exporter = new Exporter(store, sinks, { backoffMs: 30, maxBackoffMs: 60, pollMs: 50 });
    await exporter.start(new AuditLog(store));
    closers.push(() => exporter.stop());
    const deadline = Date.now() + 10_000;
    while (hec.received.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const down = (await exportStatus(store, sinks))[0]!;
    expect(down).toMatchObject({ name: 'splunk', lag_events: 25, sent: 0, last_error: 'HEC answered 503: Server is busy' });
    up = true;
    while ((await exportStatus(store, sinks))[0]!.lag_events > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // What the receiver accepted (after it came up) is every execution exactly once, in storage order.
    const acceptedIds = accepted.flatMap((body) => body.split('\n').map((l) => JSON.parse(l).event.metadata.uid));
    expect(acceptedIds).toEqual(Array.from({ length: 25 }, (_, i) => `ex_${String(i).padStart(3, '0')}`));
    expect((await exportStatus(store, sinks))[0]).toMatchObject({ lag_events: 0, lag_seconds: null, sent: 25 });
  });

  it('NDJSON files: appended, rotated by size, the newest kept; a replay sends a past range again without moving the cursor', async () => {
    const dir = tempDir();
    const store = await fleet(25);
    const sink = parseSink('files', { type: 'file', dir, prefix: 'siem', max_bytes: '4KB', keep: 2, batch: 5, streams: ['executions'] });
    const runner = new SinkRunner(store, 'files', sink);
    expect(await runner.drain()).toBe(25);
    const files = readdirSync(dir).sort();
    expect(files).toContain('siem.ndjson');
    expect(files.filter((f) => f.startsWith('siem-'))).toHaveLength(2);
    const kept = files.flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n')).map((l) => JSON.parse(l).metadata.uid);
    // The current file holds the newest events; rotated ones before it; the oldest were dropped (keep 2).
    expect(kept.at(-1)).toBe('ex_024');
    noSecrets(files.map((f) => readFileSync(join(dir, f), 'utf8')).join(''));

    const replayDir = tempDir();
    const replayed = await replay(store, 'again', parseSink('again', { type: 'file', dir: replayDir, streams: ['executions'] }), { from: new Date('2026-10-30T10:10:00Z'), to: new Date('2026-10-30T10:15:00Z') });
    expect(replayed).toBe(5);
    expect(readFileSync(join(replayDir, 'mcp-blackbox.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).metadata.uid)).toEqual(['ex_010', 'ex_011', 'ex_012', 'ex_013', 'ex_014']);
    expect(await runner.drain()).toBe(0);
  });

  it('NDJSON files: a torn last line (a write cut short) is cut off before the next events are appended', async () => {
    const dir = tempDir();
    const store = await fleet(3);
    const file = join(dir, 'mcp-blackbox.ndjson');
    writeFileSync(file, '{"metadata":{"uid":"before"}}\n{"metadata":{"uid":"to');
    expect(await new SinkRunner(store, 'files', parseSink('files', { type: 'file', dir, streams: ['executions'] })).drain()).toBe(3);
    const uids = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).metadata.uid);
    expect(uids).toEqual(['before', 'ex_000', 'ex_001', 'ex_002']);
  });

  it('NDJSON files rotate by age too: a file older than max_age is closed at the next write', async () => {
    const dir = tempDir();
    const store = await fleet(4);
    // Only Date is faked: DuckDB, sockets and timers run as they do.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-12-01T00:00:00Z') });
    try {
      const runner = new SinkRunner(store, 'files', parseSink('files', { type: 'file', dir, prefix: 'aged', max_age: '1h', batch: 2, streams: ['executions'] }));
      expect(await runner.drain()).toBe(4);
      expect(readdirSync(dir)).toEqual(['aged.ndjson']);
      vi.setSystemTime(Date.parse('2026-12-01T01:00:01Z'));
      await ingestLines(store, blockFromRecords([record('late', { started_at: '2026-10-31T10:00:00Z', ended_at: '2026-10-31T10:00:01Z' })]), 'test');
      expect(await runner.drain()).toBe(1);
      const files = readdirSync(dir).sort();
      expect(files).toEqual(['aged-2026-12-01T01-00-01-000Z.ndjson', 'aged.ndjson']);
      expect(readFileSync(join(dir, 'aged.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).metadata.uid)).toEqual(['late']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('raw only when asked, and starting a raw sink is an audit event; metadata carries no payload at all', async () => {
    const store = await fleet(2);
    const dir = tempDir();
    const audit = new AuditLog(store, { clock: fixedClock(new Date()) });
    const sinks = new Map([
      ['raw-files', parseSink('raw-files', { type: 'file', dir, prefix: 'raw', policy: 'raw', streams: ['executions'] })],
      ['meta-files', parseSink('meta-files', { type: 'file', dir, prefix: 'meta', policy: 'metadata', streams: ['executions'] })],
    ]);
    const exporter = new Exporter(store, sinks, { pollMs: 50 });
    await exporter.start(audit);
    closers.push(() => exporter.stop());
    const events = await store.read((db) => db.all<{ action: string; target: string }>("SELECT action, target FROM audit_events WHERE action = 'export'"));
    expect(events).toEqual([{ action: 'export', target: 'raw-files' }]);
    await exporter.runners[0]!.drain();
    await exporter.runners[1]!.drain();
    expect(readFileSync(join(dir, 'raw.ndjson'), 'utf8')).toContain(PASSWORD);
    const meta = readFileSync(join(dir, 'meta.ndjson'), 'utf8');
    noSecrets(meta);
    expect(JSON.parse(meta.split('\n')[0]!).api.request).toEqual({ uid: 'ex_000' });
  });

  it('a sink that falls behind raises the export_lag alert, and it resolves once the sink caught up', async () => {
    let up = false;
    const hec = await receiver(() => (up ? { status: 200, body: { text: 'Success', code: 0 } } : { status: 503, body: { text: 'busy', code: 9 } }));
    const store = await fleet(10);
    const sinks = new Map([['splunk', parseSink('splunk', { type: 'hec', url: hec.url, token: 't' })]]);
    const exporter = new Exporter(store, sinks, { backoffMs: 20, maxBackoffMs: 40, pollMs: 20 });
    await exporter.start(new AuditLog(store));
    closers.push(() => exporter.stop());
    const rule = parseRule({ name: 'siem-behind', kind: 'export_lag', max_events: 5 });
    await store.write((db) => putRule(db, { name: rule.name, kind: rule.kind, rule: JSON.stringify(rule), origin: 'file', by: 'test', at: new Date() }));
    const engine = new AlertEngine(store, { clock: store.clock });
    await engine.evaluate();
    const firing = await store.read((db) => historyRows(db, { from: new Date(0), to: new Date('2100-01-01'), limit: 10 }));
    expect(firing.map((h) => [h.event, h.group_key, h.value])).toEqual([['firing', 'splunk', 12]]);
    up = true;
    const deadline = Date.now() + 10_000;
    while ((await exportStatus(store, sinks))[0]!.lag_events > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await engine.evaluate({ at: new Date(store.clock.now().getTime() + 60_000) });
    const after = await store.read((db) => historyRows(db, { from: new Date(0), to: new Date('2100-01-01'), limit: 10 }));
    expect(after.map((h) => h.event)).toEqual(['resolved', 'firing']);

    // A sink taken out of the configuration owes nothing: new executions behind it page no one.
    await exporter.stop();
    const next = new Exporter(store, new Map(), {});
    await next.start(new AuditLog(store));
    await ingestLines(store, blockFromRecords(Array.from({ length: 8 }, (_, i) => record(`late_${i}`, { started_at: '2026-10-31T10:00:00Z', ended_at: '2026-10-31T10:00:01Z' }))), 'test');
    await engine.evaluate({ at: new Date(store.clock.now().getTime() + 120_000) });
    expect((await store.read((db) => historyRows(db, { from: new Date(0), to: new Date('2100-01-01'), limit: 10 }))).map((h) => h.event)).toEqual(['resolved', 'firing']);
  });

  it('a sink that starts now skips the history and sends what comes after', async () => {
    const store = await fleet(5);
    const dir = tempDir();
    const runner = new SinkRunner(store, 'fresh', parseSink('fresh', { type: 'file', dir, start: 'now' }));
    expect(await runner.drain()).toBe(0);
    await ingestLines(store, blockFromRecords([record('later_1', { started_at: '2026-10-31T10:00:00Z', ended_at: '2026-10-31T10:00:01Z' }), record('later_2', { started_at: '2026-10-31T10:01:00Z', ended_at: '2026-10-31T10:01:01Z' })]), 'test');
    expect(await runner.drain()).toBe(2);
    expect(readFileSync(join(dir, 'mcp-blackbox.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).metadata.uid)).toEqual(['later_1', 'later_2']);
  });

  it('bad sink config: a clear error naming the field, never the token', () => {
    expect(() => parseSink('s', { type: 'kafka' })).toThrow(/unknown type "kafka"; type is one of syslog, hec, otlp_logs, file/);
    expect(() => parseSink('s', { type: 'hec', url: 'ftp://x', token: 'secret-token-value' })).toThrow(/sink s \(hec\): url/);
    expect(() => parseSink('s', { type: 'syslog', host: 'siem', port: 70000 })).toThrow(/port: Number must be less than or equal to 65535/);
    expect(() => parseSink('s', { type: 'file', dir: '/tmp/x', max_bytes: 'lots' })).toThrow(/max_bytes must be a size like 100MB/);
    expect(() => parseSink('s', { type: 'hec', url: 'http://x', token: 'env:NO_SUCH_HEC_TOKEN' }, {})).toThrow(/NO_SUCH_HEC_TOKEN is not set/);
    expect(() => parseSink('s', { type: 'hec', url: 'http://x', token: 'secret-token-value', policy: 'everything' })).toThrow(/policy: Invalid enum value/);
    try {
      parseSink('s', { type: 'hec', url: 'not a url', token: 'secret-token-value' });
    } catch (error) {
      expect(String(error)).not.toContain('secret-token-value');
    }
  });
});
