#!/usr/bin/env node
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AuditLog } from '../src/access/audit.js';
import { systemClock } from '../src/clock.js';
import { HttpAuth } from '../src/http/auth.js';
import { startHttpServer } from '../src/http/server.js';
import { generateLines } from '../src/sample/generate.js';
import { Store } from '../src/store/store.js';

/**
 * Sustained HTTP ingest: POST /v1/executions over loopback, NDJSON batches, a few in flight.
 * `node dist-bench/bench/http-ingest.js --executions 200000 --batch 5000 --concurrency 4`
 */
export async function benchHttpIngest(options: { executions: number; batch: number; concurrency: number }) {
  const dir = mkdtempSync(join(tmpdir(), 'blackbox-http-bench-'));
  const store = await Store.open({ path: join(dir, 'bench.duckdb'), clock: systemClock, memoryLimit: '1GB' });
  const server = await startHttpServer(
    { host: '127.0.0.1', port: 0 },
    { store, clock: systemClock, audit: new AuditLog(store), auth: new HttpAuth({}), webhookSecrets: [], maxQueuedWrites: 64, log: () => undefined },
  );
  const lines = [...generateLines({ anchor: new Date().toISOString(), days: Math.ceil(options.executions / 250) + 1, perWeekday: 330, spike: false })].slice(0, options.executions);
  const batches: string[] = [];
  for (let i = 0; i < lines.length; i += options.batch) batches.push(`${lines.slice(i, i + options.batch).join('\n')}\n`);
  let next = 0;
  let accepted = 0;
  let retries = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < batches.length) {
      const body = batches[next++]!;
      for (;;) {
        const res = await fetch(`${server.url}/v1/executions`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
        if (res.status === 503) {
          retries++;
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        const reply = (await res.json()) as { accepted: number; duplicates: number; updated: number };
        accepted += reply.accepted + reply.duplicates + reply.updated;
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await server.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { executions: lines.length, accepted, seconds, perSecond: Math.round(lines.length / seconds), batch: options.batch, concurrency: options.concurrency, retries };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { executions: { type: 'string', default: '200000' }, batch: { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '4' } } });
  const result = await benchHttpIngest({ executions: Number(values.executions), batch: Number(values.batch), concurrency: Number(values.concurrency) });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
