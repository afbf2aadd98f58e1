#!/usr/bin/env node
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AuditLog } from '../src/access/audit.js';
import { systemClock } from '../src/clock.js';
import { HttpAuth } from '../src/http/auth.js';
import { startHttpServer } from '../src/http/server.js';
import { encodeOtlpRequest } from '../src/ingest/otlp-proto.js';
import { Store } from '../src/store/store.js';

/**
 * OTLP/HTTP protobuf ingest of tool calls with two child spans each, over loopback, a few
 * exports in flight: once with each call's children in the same export as the call, once with
 * the children exported just before their calls (as a BatchSpanProcessor does when the children
 * end first), which makes them wait in otlp_held_spans and be attached when the call comes.
 *
 * `node dist-bench/bench/otlp-ingest.js --calls 20000 --batch 500 --concurrency 4`
 */
export interface OtlpIngestResult {
  calls: number;
  batch: number;
  concurrency: number;
  together: { seconds: number; spansPerSecond: number; callsPerSecond: number; steps: number };
  apart: { seconds: number; spansPerSecond: number; callsPerSecond: number; steps: number };
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

function spansOf(call: number, startMs: number) {
  const traceId = Buffer.from(hex(call + 1, 32), 'hex');
  const parent = Buffer.from(hex(call * 4 + 1, 16), 'hex');
  const ns = (ms: number) => String(BigInt(Math.round(ms * 1000)) * 1000n);
  const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });
  const toolCall = {
    traceId, spanId: parent, name: 'tools/call lookup', kind: 2, startTimeUnixNano: ns(startMs), endTimeUnixNano: ns(startMs + 40),
    attributes: [attr('mcp.method.name', 'tools/call'), attr('gen_ai.tool.name', `tool_${call % 50}`), attr('user.id', `u_${call % 200}`)],
  };
  const children = [1, 2].map((i) => ({
    traceId, spanId: Buffer.from(hex(call * 4 + 1 + i, 16), 'hex'), parentSpanId: parent, name: `step ${i}`, kind: 3,
    startTimeUnixNano: ns(startMs + i * 10), endTimeUnixNano: ns(startMs + i * 10 + 8), attributes: [attr('peer.service', 'salesforce')],
  }));
  return { toolCall, children };
}

const body = (spans: unknown[]) => Buffer.from(encodeOtlpRequest('trace', { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'gateway' } }] }, scopeSpans: [{ spans }] }] }));

async function run(mode: 'together' | 'apart', options: { calls: number; batch: number; concurrency: number }) {
  const dir = mkdtempSync(join(tmpdir(), 'blackbox-otlp-bench-'));
  const store = await Store.open({ path: join(dir, 'bench.duckdb'), clock: systemClock, memoryLimit: '1GB' });
  const server = await startHttpServer(
    { host: '127.0.0.1', port: 0 },
    { store, clock: systemClock, audit: new AuditLog(store), auth: new HttpAuth({}), webhookSecrets: [], maxQueuedWrites: 64, log: () => undefined },
  );
  const base = Date.now() - 3_600_000;
  // Exports in the order they must arrive: for "apart", each batch's children, then its calls.
  const bodies: Buffer[][] = [];
  for (let first = 0; first < options.calls; first += options.batch) {
    const batch = Array.from({ length: Math.min(options.batch, options.calls - first) }, (_, i) => spansOf(first + i, base + (first + i) * 10));
    bodies.push(mode === 'together'
      ? [body(batch.flatMap((c) => [c.toolCall, ...c.children]))]
      : [body(batch.flatMap((c) => c.children)), body(batch.map((c) => c.toolCall))]);
  }
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < bodies.length) {
      // The two exports of one batch go in order, as one exporter sends them.
      for (const payload of bodies[next++]!) {
        for (;;) {
          const res = await fetch(`${server.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(payload) });
          await res.arrayBuffer();
          if (res.status === 503) {
            await new Promise((r) => setTimeout(r, 100));
            continue;
          }
          if (!res.ok) throw new Error(`OTLP export answered ${res.status}`);
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  const steps = (await store.read((db) => db.one<{ n: number }>('SELECT count(*)::INTEGER AS n FROM steps')))?.n ?? 0;
  await server.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { seconds: Math.round(seconds * 10) / 10, spansPerSecond: Math.round((options.calls * 3) / seconds), callsPerSecond: Math.round(options.calls / seconds), steps };
}

export async function benchOtlpIngest(options: { calls: number; batch: number; concurrency: number }): Promise<OtlpIngestResult> {
  const together = await run('together', options);
  const apart = await run('apart', options);
  return { ...options, together, apart };
}

export function otlpIngestMarkdown(r: OtlpIngestResult, command: string): string[] {
  return [
    `OTLP/HTTP protobuf over loopback, ${r.calls.toLocaleString('en-US')} tool calls with 2 child spans each, ${r.batch} calls per export, ${r.concurrency} exports in flight (\`${command}\`):`,
    '',
    '| children | seconds | spans/s | tool calls/s | steps stored |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| in the same export as their call | ${r.together.seconds} | ${r.together.spansPerSecond.toLocaleString('en-US')} | ${r.together.callsPerSecond.toLocaleString('en-US')} | ${r.together.steps.toLocaleString('en-US')} |`,
    `| in the export before their call (held, then attached) | ${r.apart.seconds} | ${r.apart.spansPerSecond.toLocaleString('en-US')} | ${r.apart.callsPerSecond.toLocaleString('en-US')} | ${r.apart.steps.toLocaleString('en-US')} |`,
  ];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { calls: { type: 'string', default: '20000' }, batch: { type: 'string', default: '500' }, concurrency: { type: 'string', default: '4' } } });
  const result = await benchOtlpIngest({ calls: Number(values.calls), batch: Number(values.batch), concurrency: Number(values.concurrency) });
  process.stdout.write(`${otlpIngestMarkdown(result, `node dist-bench/bench/otlp-ingest.js --calls ${values.calls} --batch ${values.batch} --concurrency ${values.concurrency}`).join('\n')}\n`);
}
