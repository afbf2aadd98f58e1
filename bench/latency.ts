import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { AuditLog } from '../src/access/audit.js';
import { LOCAL_CALLER } from '../src/access/caller.js';
import { createServer } from '../src/mcp/server.js';
import type { Store } from '../src/store/store.js';

export interface Percentiles {
  p50: number;
  p95: number;
  n: number;
}

export function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { p50: round(at(0.5)), p95: round(at(0.95)), n: sorted.length };
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * `calls` timed calls after one warm-up (first-call costs are not what a busy server sees), or
 * fewer when they would take longer than `budgetMs` in all (slow baselines at 10M): n says how many.
 */
export async function timeCalls(calls: number, fn: () => Promise<unknown> | unknown, budgetMs = 30_000): Promise<Percentiles> {
  await fn();
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < calls && (samples.length < 5 || performance.now() - started < budgetMs); i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return percentiles(samples);
}

/** Tool latency through a real MCP client (the SDK Client over its in-memory transport). */
export async function measureTools(
  store: Store,
  calls: Record<string, Record<string, unknown>>,
  repeats: number,
): Promise<Record<string, Percentiles>> {
  const server = createServer({ store, clock: store.clock, caller: LOCAL_CALLER, audit: new AuditLog(store), log: () => undefined });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(clientSide);
  const result: Record<string, Percentiles> = {};
  for (const [name, args] of Object.entries(calls)) {
    result[name] = await timeCalls(repeats, async () => {
      const r = await client.callTool({ name, arguments: args });
      if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
    });
  }
  await client.close();
  return result;
}
