import { renameSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/http/webhooks.js';
import { join } from 'node:path';
import { fixedClock } from '../../src/clock.js';
import { Store } from '../../src/store/store.js';
import { count, openTestStore, record, tempDir, TEST_NOW, writeUntilCommitFails } from '../helpers.js';
import { bearer, startHttp, TOKENS } from './harness.js';

const SECRET = `whsec_${Buffer.from('first-secret-0123456789').toString('base64')}`;
const NEXT_SECRET = `whsec_${Buffer.from('second-secret-9876543210').toString('base64')}`;
const NOW_S = Math.floor(Date.parse(TEST_NOW) / 1000);
const clock = fixedClock(new Date(TEST_NOW));

function signed(body: string, opts: { id?: string; ts?: number; secrets?: string[] } = {}) {
  const id = opts.id ?? 'msg_1';
  const ts = opts.ts ?? NOW_S;
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': (opts.secrets ?? [SECRET]).map((s) => signWebhook(s, id, ts, body)).join(' '),
  };
}

describe('POST /v1/executions', () => {
  it('accepts an object, an array and NDJSON, replying after commit with counts', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store);
    const one = await fetch(`${url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/json' }, body: JSON.stringify(record('h1')) });
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ received: 1, accepted: 1, updated: 0, duplicates: 0, rejected: 0, errors: [] });
    expect(await count(store, 'SELECT count(*) FROM executions')).toBe(1);

    const many = await fetch(`${url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.root), 'content-type': 'application/json' }, body: JSON.stringify([record('h1'), record('h2'), record('h3')]) });
    expect(await many.json()).toMatchObject({ received: 3, accepted: 2, duplicates: 1 });

    const ndjson = [record('h4'), record('h4', { status: 'failed', ended_at: '2026-10-30T10:00:09Z' })].map((r) => JSON.stringify(r)).join('\n') + '\n';
    const nd = await fetch(`${url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/x-ndjson' }, body: ndjson });
    expect(await nd.json()).toMatchObject({ received: 2, accepted: 1, duplicates: 1 });
    expect(await count(store, "SELECT count(*) FROM executions WHERE execution_id = 'h4' AND status = 'failed'")).toBe(1);
  });

  it('/healthz says how current the store is: the newest execution and the last ingest', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store);
    const health = async () => (await (await fetch(`${url}/healthz`, { headers: bearer(TOKENS.gateway) })).json()) as Record<string, unknown>;
    // Without a token (auth is configured) the store's figures are not shown, only liveness.
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await health()).toMatchObject({ status: 'ok', executions: 0, oldest_started_at: null, newest_started_at: null, last_ingested_at: null, quarantined_lines: 0, queued_writes: 0, otlp_ignored: { metric_data_points: expect.any(Number), log_records: expect.any(Number) } });
    const before = Date.now();
    const body = JSON.stringify([record('f1', { started_at: '2026-10-30T09:00:00Z' }), record('f2', { started_at: '2026-10-30T11:30:00Z' })]);
    await fetch(`${url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/json' }, body });
    const after = Date.now();
    const fresh = await health();
    expect(fresh).toMatchObject({ status: 'ok', executions: 2, oldest_started_at: '2026-10-30T09:00:00.000Z', newest_started_at: '2026-10-30T11:30:00.000Z' });
    // The last ingest is wall-clock time (not the pinned test clock), to the millisecond.
    const ingested = Date.parse(fresh.last_ingested_at as string);
    expect(ingested).toBeGreaterThanOrEqual(before - 1);
    expect(ingested).toBeLessThanOrEqual(after + 1);
  });

  it('partial acceptance: names each rejected record by index and reason, keeps the rest', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store);
    const body = [JSON.stringify(record('p1')), '{not json', JSON.stringify(record('p2', { status: 'done' })), JSON.stringify(record('p3'))].join('\n');
    const res = await fetch(`${url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/x-ndjson' }, body });
    expect(res.status).toBe(200);
    const reply = await res.json();
    expect(reply).toMatchObject({ received: 4, accepted: 2, rejected: 2 });
    expect(reply.errors).toEqual([{ index: 1, reason: 'invalid_json' }, { index: 2, reason: 'invalid_value:status (expected one of running, succeeded, failed, stopped, terminated; got "done")' }]);
    expect(await count(store, "SELECT count(*) FROM quarantine WHERE source LIKE 'http:%'")).toBe(2);
    const allBad = await fetch(`${url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/json' }, body: JSON.stringify([{ nope: 1 }]) });
    expect(allBad.status).toBe(422);
  });

  it('400 on bad JSON, 415 on other types, 413 over 20 MiB, gzip accepted, a gzip bomb refused without blowing up', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store);
    const post = (body: BodyInit, headers: Record<string, string>) => fetch(`${url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), ...headers }, body });
    const bad = await post('{"execution_id": ', { 'content-type': 'application/json' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/not valid JSON.*application\/x-ndjson/);
    expect((await post('a,b', { 'content-type': 'text/csv' })).status).toBe(415);

    const gz = await post(gzipSync(JSON.stringify([record('z1'), record('z2')])), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(await gz.json()).toMatchObject({ accepted: 2 });

    const big = await post(`[${JSON.stringify(record('big', { input: { blob: 'x'.repeat(21 * 1024 * 1024) } }))}]`, { 'content-type': 'application/json' });
    expect(big.status).toBe(413);

    const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024, 0x20)); // 200 MiB of spaces, ~200 KiB on the wire
    const before = process.memoryUsage().rss;
    const refused = await post(bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(refused.status).toBe(413);
    expect((await refused.json()).error).toMatch(/once decompressed/);
    expect(process.memoryUsage().rss - before).toBeLessThan(150 * 1024 * 1024);
    expect(await count(store, 'SELECT count(*) FROM executions')).toBe(2);
  });

  it('auth: no token 401 with WWW-Authenticate, a member token 403, a bad token 401; nothing stored', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store);
    const body = JSON.stringify(record('a1'));
    const none = await fetch(`${url}/v1/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain(`resource_metadata="${url}/.well-known/oauth-protected-resource"`);
    expect((await fetch(`${url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.ana), 'content-type': 'application/json' }, body })).status).toBe(403);
    expect((await fetch(`${url}/v1/executions`, { method: 'POST', headers: { ...bearer('wrong'), 'content-type': 'application/json' }, body })).status).toBe(401);
    expect(await count(store, 'SELECT count(*) FROM executions')).toBe(0);
  });

  it('Standard Webhooks: good, bad, stale and rotated signatures; a repeated delivery is acknowledged once', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store, { access: null, webhookSecrets: [SECRET, NEXT_SECRET] });
    const post = (body: string, headers: Record<string, string>) => fetch(`${url}/v1/executions`, { method: 'POST', headers, body });
    const body = JSON.stringify(record('w1'));

    const good = await post(body, signed(body));
    expect(good.status).toBe(200);
    expect(await good.json()).toMatchObject({ accepted: 1 });

    const again = await post(body, signed(body));
    expect(await again.json()).toMatchObject({ duplicate_delivery: true, webhook_id: 'msg_1' });

    // The same delivery twice at once: one stores, the other is acknowledged as a duplicate,
    // whether its "seen before?" read found the first or it lost on the delivery id's key (a
    // KeyConflictError; test/store/duckdb-errors.test.ts drives that path alone).
    const raced = JSON.stringify(record('w_race'));
    const both = await Promise.all([post(raced, signed(raced, { id: 'msg_race' })), post(raced, signed(raced, { id: 'msg_race' }))]);
    const answers = await Promise.all(both.map((r) => r.json()));
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    expect(answers.filter((a) => a.duplicate_delivery).length).toBe(1);
    expect(answers.filter((a) => a.accepted === 1).length).toBe(1);
    expect(await count(store, "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = 'msg_race'")).toBe(1);

    const tampered = await post(JSON.stringify(record('w2')), signed(body, { id: 'msg_2' }));
    expect(tampered.status).toBe(401);
    expect((await tampered.json()).error).toMatch(/no webhook signature matches/);

    const stale = await post(JSON.stringify(record('w3')), signed(JSON.stringify(record('w3')), { id: 'msg_3', ts: NOW_S - 6 * 60 }));
    expect(stale.status).toBe(401);
    expect((await stale.json()).error).toMatch(/more than 5 minutes/);
    const future = await post(JSON.stringify(record('w3')), signed(JSON.stringify(record('w3')), { id: 'msg_3', ts: NOW_S + 6 * 60 }));
    expect(future.status).toBe(401);

    // During a rotation the sender signs with the old and the new secret; either is enough.
    const w4 = JSON.stringify(record('w4'));
    const rotated = await post(w4, signed(w4, { id: 'msg_4', secrets: [`whsec_${Buffer.from('retired').toString('base64')}`, NEXT_SECRET] }));
    expect(rotated.status).toBe(200);
    const unsigned = await post(w4, { 'content-type': 'application/json' });
    expect(unsigned.status).toBe(401);
    // w1, w_race (once) and w4.
    expect(await count(store, 'SELECT count(*) FROM executions')).toBe(3);
  });

  it('sheds load with 503 and Retry-After when the write queue is full', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store, { maxQueuedWrites: 0 });
    const res = await fetch(`${url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/json' }, body: JSON.stringify(record('q')) });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it('503 with Retry-After and the reason when the store runs out of its memory limit; nothing stored', async () => {
    const store = await Store.open({ path: join(tempDir(), 'small.duckdb'), clock, memoryLimit: '16MB' });
    try {
      const { url } = await startHttp(store);
      const res = await fetch(`${url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/json' }, body: JSON.stringify(record('oom')) });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('60');
      expect((await res.json()).error).toMatch(/ran out of its memory limit .* none of it was stored/);
      expect(await count(store, 'SELECT count(*) FROM executions')).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('503 from ingest and from /healthz while the database cannot be opened again, and healthy once it can', async () => {
    const path = join(tempDir(), 'moved.duckdb');
    const store = await Store.open({ path, clock, memoryLimit: '24MB' });
    try {
      const { url } = await startHttp(store);
      renameSync(path, `${path}.moved`);
      await writeUntilCommitFails(store);
      const ingest = () => fetch(`${url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/json' }, body: JSON.stringify(record('kept')) });
      const refused = await ingest();
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('60');
      expect((await refused.json()).error).toMatch(/could not be opened again after a failed write \(the file no longer exists\)/);
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(503);
      expect((await health.json()).error).toMatch(/could not be opened again/);

      // (24MB is too little for ingest itself, so the check once the file is back is the health one.)
      renameSync(`${path}.moved`, path);
      const healthy = await fetch(`${url}/healthz`, { headers: bearer(TOKENS.root) });
      expect(healthy.status).toBe(200);
      expect(await healthy.json()).toMatchObject({ status: 'ok', executions: 0 });
    } finally {
      await store.close();
    }
  });

  it('rejects a foreign Host or Origin, and a token in the query string', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store);
    const { request } = await import('node:http');
    const status = (headers: Record<string, string>, path = '/healthz') =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(url);
        request({ host: u.hostname, port: u.port, path, headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject).end();
      });
    expect(await status({ host: `localhost:${new URL(url).port}` })).toBe(200);
    expect(await status({ host: 'attacker.example:80' })).toBe(403);
    expect(await status({ host: `127.0.0.1:${new URL(url).port}`, origin: 'http://attacker.example' })).toBe(403);
    expect(await status({ host: `127.0.0.1:${new URL(url).port}` }, '/healthz?access_token=abc')).toBe(400);
  });

  it('says so clearly when the port is taken', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store);
    const { startHttpServer } = await import('../../src/http/server.js');
    const { HttpAuth } = await import('../../src/http/auth.js');
    const { auditFor } = await import('../mcp/harness.js');
    await expect(
      startHttpServer({ host: '127.0.0.1', port: Number(new URL(url).port) }, { store, clock: store.clock, audit: auditFor(store), auth: new HttpAuth({}), webhookSecrets: [] }),
    ).rejects.toThrow(/EADDRINUSE.*another process uses that port.*--http/);
  });

  it('refuses to bind a non-loopback address without auth', async () => {
    const store = await openTestStore();
    const { startHttpServer } = await import('../../src/http/server.js');
    const { HttpAuth } = await import('../../src/http/auth.js');
    const { auditFor } = await import('../mcp/harness.js');
    await expect(
      startHttpServer({ host: '0.0.0.0', port: 0 }, { store, clock: store.clock, audit: auditFor(store), auth: new HttpAuth({}), webhookSecrets: [] }),
    ).rejects.toThrow(/Refusing to listen on 0.0.0.0 \(reachable from other machines\): no authentication is configured/);
  });
});
