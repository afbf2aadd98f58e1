import * as grpc from '@grpc/grpc-js';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpAuth } from '../../src/http/auth.js';
import { duckdbOtlpStore } from '../../src/ingest/otlp-store.js';
import { startOtlpGrpc, type RunningGrpcServer } from '../../src/http/otlp-grpc.js';
import { encodeOtlpResponse } from '../../src/ingest/otlp-proto.js';
import protobuf from 'protobufjs';
import { join } from 'node:path';
import { openTestStore, tempDir } from '../helpers.js';
import { spawn } from 'node:child_process';
import { ACCESS, bearer, startHttp, TOKENS } from './harness.js';

const servers: RunningGrpcServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

/** Request messages encoded with the same official protos, by protobufjs: what any SDK sends. */
function encoder() {
  const root = new protobuf.Root();
  root.resolvePath = (_o, target) => join(process.cwd(), 'proto', target);
  root.loadSync(['trace', 'metrics', 'logs'].map((s) => `opentelemetry/proto/collector/${s}/v1/${s}_service.proto`));
  const encode = (name: string, value: Record<string, unknown>) => {
    const type = root.lookupType(name);
    return Buffer.from(type.encode(type.fromObject(value)).finish());
  };
  return {
    metrics: (points: number) =>
      encode('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest', {
        resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'mcp.server.operation.duration', histogram: { dataPoints: Array.from({ length: points }, () => ({ count: 1, sum: 0.2 })) } }] }] }],
      }),
    logs: (records: number) =>
      encode('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest', { resourceLogs: [{ scopeLogs: [{ logRecords: Array.from({ length: records }, () => ({ body: { stringValue: 'hi' } })) }] }] }),
    trace: () =>
      encode('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest', {
        resourceSpans: [{
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'helpdesk' } }] },
          scopeSpans: [{ spans: [{
            traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex'), spanId: Buffer.from('b7ad6b7169203331', 'hex'), name: 'tools/call lookup', kind: 2,
            startTimeUnixNano: '1793404800000000000', endTimeUnixNano: '1793404800000310000',
            attributes: [{ key: 'mcp.method.name', value: { stringValue: 'tools/call' } }, { key: 'gen_ai.tool.name', value: { stringValue: 'lookup' } }, { key: 'user.id', value: { stringValue: 'u_ana' } }],
          }] }],
        }],
      }),
  };
}

describe('OTLP transports: protobuf over HTTP, gRPC, and metrics and logs accepted', () => {
  it('HTTP protobuf (gzip too): traces stored, replies in protobuf; metrics and logs answered with success and counted in /healthz', async () => {
    const store = await openTestStore('2026-11-01T00:00:00Z');
    const { url } = await startHttp(store);
    const messages = encoder();
    const post = (path: string, body: Buffer, headers: Record<string, string> = {}) =>
      fetch(`${url}${path}`, { method: "POST", headers: { ...bearer(TOKENS.gateway), "content-type": "application/x-protobuf", ...headers }, body: new Uint8Array(body) });
    const traced = await post('/v1/traces', gzipSync(messages.trace()), { 'content-encoding': 'gzip' });
    expect(traced.status).toBe(200);
    expect(traced.headers.get('content-type')).toBe('application/x-protobuf');
    expect(Buffer.from(await traced.arrayBuffer())).toEqual(Buffer.from(encodeOtlpResponse('trace')));
    const stored = await store.read((db) => db.one<{ tool_name: string; user_id: string; duration_ms: number }>('SELECT tool_name, user_id, duration_ms FROM executions'));
    // 310 µs, kept to the microsecond from the nanosecond times.
    expect(stored).toMatchObject({ tool_name: 'lookup', user_id: 'u_ana', duration_ms: 0.31 });

    expect((await post('/v1/metrics', messages.metrics(3))).status).toBe(200);
    expect((await post('/v1/logs', messages.logs(2))).status).toBe(200);
    const json = await fetch(`${url}/v1/metrics`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/json' }, body: JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'x', gauge: { dataPoints: [{}, {}] } }] }] }] }) });
    expect(await json.json()).toEqual({});
    const health = await (await fetch(`${url}/healthz`, { headers: bearer(TOKENS.root) })).json();
    expect(health.otlp_ignored.metric_data_points).toBeGreaterThanOrEqual(5);
    expect(health.otlp_ignored.log_records).toBeGreaterThanOrEqual(2);
    // A truncated message is a 400 that says so; an unknown type a 415.
    const truncated = await post('/v1/metrics', messages.metrics(3).subarray(0, 9));
    expect(truncated.status).toBe(400);
    expect((await truncated.json()).error).toMatch(/not a valid OTLP ExportMetricsServiceRequest in protobuf/);
    expect((await post('/v1/logs', Buffer.from('x'), { 'content-type': 'text/csv' })).status).toBe(415);
  });

  it('HTTP protobuf over the body limit is a 413 that says the limit; the next export still lands', async () => {
    const store = await openTestStore('2026-11-01T00:00:00Z');
    const { url } = await startHttp(store, { maxBodyBytes: 64 * 1024 });
    const messages = encoder();
    const post = (body: Buffer) =>
      fetch(`${url}/v1/traces`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/x-protobuf' }, body: new Uint8Array(body) });
    const big = await fetch(`${url}/v1/logs`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/x-protobuf' }, body: new Uint8Array(messages.logs(20_000)) });
    expect(big.status).toBe(413);
    expect((await big.json()).error).toMatch(/65536|64 KiB|limit/i);
    expect((await post(messages.trace())).status).toBe(200);
    expect((await store.read((db) => db.one<{ n: number }>('SELECT count(*)::INTEGER AS n FROM executions')))?.n).toBe(1);
  });

  it('gRPC: auth from metadata, INVALID_ARGUMENT for a truncated message, RESOURCE_EXHAUSTED over the limit; the good request still lands', async () => {
    const store = await openTestStore('2026-11-01T00:00:00Z');
    const server = await startOtlpGrpc({ host: '127.0.0.1', port: 0 }, { otlp: duckdbOtlpStore(store), auth: new HttpAuth({ access: ACCESS }), maxMessageBytes: 64 * 1024, log: () => undefined });
    servers.push(server);
    const client = new grpc.Client(server.address, grpc.credentials.createInsecure());
    const messages = encoder();
    const exportTo = (service: string, body: Buffer, token?: string) =>
      new Promise<{ code: number; details?: string }>((resolve) => {
        const metadata = new grpc.Metadata();
        if (token) metadata.set('authorization', `Bearer ${token}`);
        client.makeUnaryRequest(service, (b: Buffer) => b, (b: Buffer) => b, body, metadata, (error) => resolve(error ? { code: error.code, details: error.details } : { code: grpc.status.OK }));
      });
    const TRACE = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
    expect((await exportTo(TRACE, messages.trace())).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await exportTo(TRACE, messages.trace(), TOKENS.ana)).code).toBe(grpc.status.PERMISSION_DENIED);
    const truncated = await exportTo(TRACE, messages.trace().subarray(0, 20), TOKENS.gateway);
    expect(truncated.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(truncated.details).toMatch(/not a valid OTLP ExportTraceServiceRequest in protobuf/);
    expect((await exportTo('/opentelemetry.proto.collector.logs.v1.LogsService/Export', messages.logs(10_000), TOKENS.gateway)).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect((await exportTo('/opentelemetry.proto.collector.metrics.v1.MetricsService/Export', messages.metrics(2), TOKENS.gateway)).code).toBe(grpc.status.OK);
    expect((await exportTo(TRACE, messages.trace(), TOKENS.gateway)).code).toBe(grpc.status.OK);
    client.close();
    const stored = await store.read((db) => db.one<{ n: number; duration_ms: number }>('SELECT count(*)::INTEGER AS n, any_value(duration_ms) AS duration_ms FROM executions'));
    expect(stored?.n).toBe(1);
  });

  it('--otlp-grpc on a public address without caller auth is refused, as HTTP is', async () => {
    const store = await openTestStore();
    await expect(startOtlpGrpc({ host: '0.0.0.0', port: 0 }, { otlp: duckdbOtlpStore(store), auth: new HttpAuth({}), log: () => undefined })).rejects.toThrow(/Refusing to listen on 0\.0\.0\.0/);
  });

  it('serve --http --otlp-grpc: one process takes OTLP over HTTP and gRPC; local mode on loopback needs no token', async () => {
    const db = join(tempDir(), 'grpc.duckdb');
    const serve = spawn(process.execPath, [join(process.cwd(), 'dist/cli/main.js'), 'serve', '--db', db, '--no-spool', '--now', '2026-11-01T00:00:00Z', '--http', '127.0.0.1:0', '--otlp-grpc', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    serve.stderr.on('data', (d) => (stderr += d));
    try {
      const deadline = Date.now() + 15_000;
      while (!/OTLP\/gRPC on (\S+)/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const grpcAddress = /OTLP\/gRPC on (127\.0\.0\.1:\d+)/.exec(stderr)![1]!;
      const httpUrl = /serving HTTP on (http:\/\/\S+?):\s/.exec(stderr)![1]!;
      const client = new grpc.Client(grpcAddress, grpc.credentials.createInsecure());
      const code = await new Promise<number>((resolve) =>
        client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', (b: Buffer) => b, (b: Buffer) => b, encoder().trace(), new grpc.Metadata(), (error) => resolve(error ? error.code : grpc.status.OK)),
      );
      client.close();
      expect(code).toBe(grpc.status.OK);
      expect((await (await fetch(`${httpUrl}/healthz`)).json()).executions).toBe(1);
    } finally {
      serve.kill('SIGTERM');
      await new Promise((r) => serve.once('exit', r));
    }
  });
});
