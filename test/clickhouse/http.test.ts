import { spawn, spawnSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AuditLog } from '../../src/access/audit.js';
import { clickhouseAnalytics } from '../../src/analytics/clickhouse/index.js';
import { HttpAuth } from '../../src/http/auth.js';
import { clickhouseIngestTarget } from '../../src/http/ingest-target.js';
import { startHttpServer, type RunningHttpServer } from '../../src/http/server.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { duckdbAnalytics } from '../../src/analytics/duckdb/index.js';
import { usageSummary } from '../../src/analytics/usage.js';
import { resolveRange } from '../../src/analytics/time-range.js';
import { blockFromText } from '../../src/ingest/lines.js';
import { ClickHouseAuditStorage } from '../../src/store/clickhouse/audit.js';
import type { ClickHouseStore } from '../../src/store/clickhouse/store.js';
import { FIXTURE_NOW, smallFleet } from '../fixtures/small-fleet.js';
import { ACCESS, bearer, TOKENS } from '../http/harness.js';
import { lines, openTestStore, record, tempDir } from '../helpers.js';
import { openClickHouseTestStore } from './helpers.js';

const CLI = join(process.cwd(), 'dist', 'cli', 'main.js');

/** One tool call exported over OTLP/gRPC, encoded with the official protos; resolves to the status code. */
function grpcExport(address: string, token?: string): Promise<number> {
  const root = new protobuf.Root();
  root.resolvePath = (_o, target) => join(process.cwd(), 'proto', target);
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
  const type = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  const body = Buffer.from(type.encode(type.fromObject({
    resourceSpans: [{ scopeSpans: [{ spans: [{
      traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex'), spanId: Buffer.from('b7ad6b7169203331', 'hex'), name: 'tools/call lookup', kind: 2,
      startTimeUnixNano: String(BigInt(Date.parse(FIXTURE_NOW) - 3_600_000) * 1_000_000n), endTimeUnixNano: String(BigInt(Date.parse(FIXTURE_NOW) - 3_599_000) * 1_000_000n),
      attributes: [{ key: 'mcp.method.name', value: { stringValue: 'tools/call' } }, { key: 'gen_ai.tool.name', value: { stringValue: 'lookup' } }],
    }] }] }],
  })).finish());
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', (b: Buffer) => b, (b: Buffer) => b, body, metadata, (error) => {
      client.close();
      resolve(error ? error.code : grpc.status.OK);
    });
  });
}

async function instance(store: ClickHouseStore): Promise<RunningHttpServer & { stop(): Promise<void> }> {
  const audit = new ClickHouseAuditStorage(store.ch);
  const running = await startHttpServer({ host: '127.0.0.1', port: 0 }, {
    clock: store.clock,
    audit: new AuditLog(audit),
    analytics: clickhouseAnalytics(store.ch),
    ingest: clickhouseIngestTarget(store),
    auth: new HttpAuth({ access: ACCESS }),
    webhookSecrets: [],
    log: () => undefined,
  });
  return { ...running, stop: async () => { await running.close(); await audit.close(); } };
}

async function mcpCall(url: string, token: string, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: bearer(token) } }));
  try {
    return (await client.callTool({ name, arguments: args })) as CallToolResult;
  } finally {
    await client.close();
  }
}

describe('serve --http on ClickHouse', () => {
  it('two instances share one store: records sent to one are answered by the other, with the same figures as DuckDB', async () => {
    const database = `h${process.pid}`;
    const [a, b] = await Promise.all([instance(await openClickHouseTestStore(FIXTURE_NOW, database)), instance(await openClickHouseTestStore(FIXTURE_NOW, database))]);
    try {
      const body = `${lines(...smallFleet())}\n{"execution_id": "broken"\n`;
      const sent = await fetch(`${a.url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/x-ndjson' }, body });
      const duck = await openTestStore(FIXTURE_NOW);
      const expected = await ingestLines(duck, blockFromText(body), 'http');
      expect(sent.status).toBe(200);
      expect(await sent.json()).toMatchObject({ received: smallFleet().length + 1, accepted: expected.inserted, updated: expected.updated, rejected: 1, errors: [{ index: expected.rejected[0]!.lineNo - 1, reason: expected.rejected[0]!.reason }] });
      // The same body again (a retried delivery): stored nothing new, every record a duplicate.
      const again = await fetch(`${a.url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/x-ndjson' }, body });
      expect(await again.json()).toMatchObject({ accepted: 0, updated: 0, duplicates: expected.inserted + expected.updated + expected.duplicates });

      const usage = await mcpCall(b.url, TOKENS.ana, 'usage_summary', { window: '30d' });
      expect(usage.isError, JSON.stringify(usage.content)).toBeFalsy();
      const duckAnalytics = duckdbAnalytics((task) => duck.read(task));
      const want = await usageSummary(duckAnalytics, { range: resolveRange({ window: '30d' }, duck.clock), filters: {} });
      expect(usage.structuredContent).toMatchObject({ total_executions: want.total_executions, by_status: want.by_status, tasks: want.tasks });

      // The dashboard's API answers from the same store, for a signed-in member.
      const api = await fetch(`${b.url}/api/tools/cost_by_user`, { method: 'POST', headers: { ...bearer(TOKENS.ben), 'content-type': 'application/json' }, body: JSON.stringify({ window: '30d' }) });
      expect(api.status).toBe(200);
      expect(JSON.stringify(await api.json())).toContain('u_');

      const health = await (await fetch(`${b.url}/healthz`, { headers: bearer(TOKENS.root) })).json();
      const extent = await duckAnalytics.extent();
      expect(health).toMatchObject({ status: 'ok', engine: 'clickhouse', executions: extent.executions, oldest_started_at: extent.oldest_started_at, newest_started_at: extent.newest_started_at, quarantined_lines: 2 });
      expect(await (await fetch(`${b.url}/healthz`)).json()).toEqual({ status: 'ok' });
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('refuses what it cannot do: no token, an ingest token on /mcp or OTLP, alert tools without alerting state', async () => {
    const server = await instance(await openClickHouseTestStore(FIXTURE_NOW));
    try {
      const anonymous = await fetch(`${server.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
      expect(anonymous.status).toBe(401);
      const ingestOnMcp = await fetch(`${server.url}/mcp`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/json' }, body: '{}' });
      expect(ingestOnMcp.status).toBe(403);
      const anonymousIngest = await fetch(`${server.url}/v1/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(anonymousIngest.status).toBe(401);
      const anonymousOtlp = await fetch(`${server.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(anonymousOtlp.status).toBe(401);
      // An app given no alerting state (serve always gives one) says so.
      const alerts = await mcpCall(server.url, TOKENS.root, 'list_alerts', {});
      expect(alerts.isError).toBe(true);
      expect((alerts.content as Array<{ text: string }>)[0]!.text).toContain('This server keeps no alerting state');
    } finally {
      await server.stop();
    }
  });

  it('the CLI: serve --store --http takes records and answers MCP over HTTP; a non-loopback listener without callers is refused', async () => {
    const dir = tempDir();
    const store = `chdb:${join(dir, 'ch')}/fleet`;
    const access = join(dir, 'access.json');
    const sha = (t: string) => createHash('sha256').update(t).digest('hex');
    writeFileSync(access, JSON.stringify({ users: [{ id: 'u_root', role: 'admin', token_sha256: sha(TOKENS.root) }, { id: 'gateway', role: 'ingest', token_sha256: sha(TOKENS.gateway) }] }));
    const env = { ...process.env, MCP_BLACKBOX_DB: '', MCP_BLACKBOX_STORE: '', MCP_BLACKBOX_ACCESS: '' };
    const open = spawnSync(process.execPath, [CLI, 'serve', '--store', store, '--http', '0.0.0.0:0'], { encoding: 'utf8', env });
    expect(open.status).toBe(2);
    expect(open.stderr).toMatch(/0\.0\.0\.0/);

    // A watched directory too: its file is read before the server answers.
    const watched = join(dir, 'logs');
    mkdirSync(watched);
    writeFileSync(join(watched, 'gateway.jsonl'), lines(record('w1'), record('w2'), record('w3', { status: 'failed', error: { type: 'timeout', message: 'took too long' } })));
    // An alerts file: a webhook on 127.0.0.1 and a rule that holds at the pinned "now".
    const paged: string[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        paged.push(...(JSON.parse(body) as { alerts: Array<{ labels: { alertname: string } }> }).alerts.map((a) => a.labels.alertname));
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const alertsFile = join(dir, 'alerts.json');
    writeFileSync(alertsFile, JSON.stringify({
      channels: { hooks: { type: 'webhook', url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts` } },
      rules: [{ name: 'failed-lately', kind: 'failures', threshold: 0, window: '7d', channels: ['hooks'] }],
    }));
    const serve = spawn(process.execPath, [CLI, 'serve', '--store', store, '--now', FIXTURE_NOW, '--http', '127.0.0.1:0', '--otlp-grpc', '127.0.0.1:0', '--access', access, '--watch', watched, '--no-spool', '--alerts', alertsFile], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...env, MCP_BLACKBOX_INSTANCE: 'test-instance' } });
    let stderr = '';
    serve.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => serve.on('exit', resolve));
    try {
      const deadline = Date.now() + 30_000;
      while (!/serving HTTP on (http:\/\/\S+) \(/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const url = /serving HTTP on (http:\/\/\S+) \(/.exec(stderr)?.[1];
      expect(url, stderr).toBeDefined();
      expect(stderr).toMatch(/store chdb:.*\/fleet, audit chain \S+/);
      expect(stderr).toContain(`watching ${watched}`);
      expect(await (await fetch(`${url}/healthz`, { headers: bearer(TOKENS.root) })).json()).toMatchObject({ engine: 'clickhouse', executions: 3 });
      const sent = await fetch(`${url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/json' }, body: JSON.stringify(smallFleet()) });
      expect(sent.status).toBe(200);
      expect((await sent.json()).accepted).toBeGreaterThan(50);
      // OTLP: a tool call over gRPC, a child whose call has not come over HTTP, metrics over HTTP.
      const grpcAddress = /OTLP\/gRPC on (\S+)/.exec(stderr)?.[1];
      expect(grpcAddress, stderr).toBeDefined();
      // Without a token, neither port takes the export.
      expect(await grpcExport(grpcAddress!)).toBe(grpc.status.UNAUTHENTICATED);
      expect((await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resourceSpans":[]}' })).status).toBe(401);
      expect(await grpcExport(grpcAddress!, TOKENS.gateway)).toBe(grpc.status.OK);
      const otlpPost = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const waiting = { traceId: 'e'.repeat(32), spanId: '00000000000000e1', parentSpanId: 'e000000000000001', name: 'SELECT', startTimeUnixNano: '1793404800000000000', endTimeUnixNano: '1793404801000000000' };
      expect(await (await otlpPost('/v1/traces', { resourceSpans: [{ scopeSpans: [{ spans: [waiting] }] }] })).json()).toEqual({});
      const point = { attributes: [{ key: 'mcp.method.name', value: { stringValue: 'tools/call' } }, { key: 'gen_ai.tool.name', value: { stringValue: 'zendesk_get' } }], timeUnixNano: String(BigInt(Date.parse(FIXTURE_NOW) - 60_000) * 1_000_000n), count: '4', sum: 1 };
      expect((await otlpPost('/v1/metrics', { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'mcp.server.operation.duration', unit: 's', histogram: { aggregationTemporality: 1, dataPoints: [point] } }] }] }] })).status).toBe(200);
      expect(await (await fetch(`${url}/healthz`, { headers: bearer(TOKENS.root) })).json()).toMatchObject({ otlp_spans_waiting: 1, otlp_orphan_spans: 0 });
      const usage = await mcpCall(url!, TOKENS.root, 'usage_summary', { window: '30d' });
      expect(usage.isError, JSON.stringify(usage.content)).toBeFalsy();
      expect((usage.structuredContent as { total_executions: number }).total_executions).toBeGreaterThan(50);
      expect((usage.structuredContent as { from_metrics: { calls: number } }).from_metrics.calls).toBe(4);
      const traced = await mcpCall(url!, TOKENS.root, 'list_executions', { tool: 'lookup', window: '30d' });
      expect((traced.content as Array<{ text: string }>)[0]!.text).toContain('0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331');
      // The instance holds the alerts lease: the file's rule is evaluated at the pinned now, and pages.
      while (!paged.includes('failed-lately') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(paged, stderr).toEqual(['failed-lately']);
      expect(stderr).toContain('lease alerts: held by this instance');
      expect((await (await fetch(`${url}/healthz`, { headers: bearer(TOKENS.root) })).json()).alerts).toMatchObject({ rules: 1, firing: 1 });
      const listed = await mcpCall(url!, TOKENS.root, 'list_alerts', {});
      expect((listed.content as Array<{ text: string }>)[0]!.text).toContain('failed-lately');
    } finally {
      serve.kill('SIGTERM');
      await new Promise((r) => hook.close(r));
    }
    expect(await exited).toBe(0);
  });
});
