#!/usr/bin/env node
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AuditLog } from '../src/access/audit.js';
import { LOCAL_CALLER } from '../src/access/caller.js';
import { traceExecution } from '../src/analytics/trace.js';
import { duckdbAnalytics } from '../src/analytics/duckdb/index.js';
import { DEFAULT_MEMORY_LIMIT } from '../src/cli/config.js';
import { fixedClock } from '../src/clock.js';
import { createServer } from '../src/mcp/server.js';
import { Store } from '../src/store/store.js';
import { BENCH_ANCHOR } from './dataset.js';
import { percentiles, type Percentiles } from './latency.js';

/**
 * Where trace_execution's time goes on a big store (issue 24's target: p95 under 20 ms at 10M
 * through the MCP client): the MCP transport's own round trip (ping through the SDK's client and
 * server), the analytics function alone (its reads), and the whole tool call (reads, masking,
 * the text answer, the view noted for the audit log), each on a different execution every call.
 */
export interface TraceLatencyResult {
  executions: number;
  ping: Percentiles;
  analytics: Percentiles;
  tool: Percentiles;
}

export async function benchTraceLatency(dbPath: string, calls: number): Promise<TraceLatencyResult> {
  const store = await Store.open({ path: dbPath, clock: fixedClock(new Date(BENCH_ANCHOR)), memoryLimit: DEFAULT_MEMORY_LIMIT });
  const auditDir = mkdtempSync(join(tmpdir(), 'mcp-blackbox-trace-bench-'));
  try {
    const executions = (await store.read((db) => db.one<{ n: number }>('SELECT count(*)::DOUBLE AS n FROM executions')))?.n ?? 0;
    const ids = (await store.read((db) => db.all<{ id: string }>(`SELECT execution_id AS id FROM executions USING SAMPLE ${calls * 2 + 2} ROWS`))).map((r) => r.id);
    const server = createServer({ store, clock: store.clock, caller: LOCAL_CALLER, audit: new AuditLog(store, { mirrorPath: join(auditDir, 'audit.jsonl') }), log: () => undefined });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'bench', version: '1.0.0' });
    await client.connect(clientSide);
    const time = async (fn: (i: number) => Promise<unknown>): Promise<Percentiles> => {
      await fn(0);
      const samples: number[] = [];
      for (let i = 1; i <= calls; i++) {
        const started = performance.now();
        await fn(i);
        samples.push(performance.now() - started);
      }
      return percentiles(samples);
    };
    const ping = await time(() => client.ping());
    const analytics = await time((i) => traceExecution(duckdbAnalytics((task) => store.read(task)), ids[i]!));
    const tool = await time(async (i) => {
      const r = await client.callTool({ name: 'trace_execution', arguments: { execution_id: ids[calls + 1 + i]! } });
      if (r.isError) throw new Error(JSON.stringify(r.content));
    });
    await client.close();
    return { executions, ping, analytics, tool };
  } finally {
    await store.close();
    rmSync(auditDir, { recursive: true, force: true });
  }
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { db: { type: 'string', multiple: true }, calls: { type: 'string', default: '200' } } });
  process.stdout.write('| executions | MCP ping p50 / p95 ms | traceExecution alone p50 / p95 ms | trace_execution tool call p50 / p95 ms |\n| ---: | ---: | ---: | ---: |\n');
  for (const db of values.db ?? []) {
    const r = await benchTraceLatency(db, Number(values.calls));
    process.stdout.write(`| ${r.executions.toLocaleString('en-US')} | ${r.ping.p50} / ${r.ping.p95} | ${r.analytics.p50} / ${r.analytics.p95} | ${r.tool.p50} / ${r.tool.p95} |\n`);
  }
}
