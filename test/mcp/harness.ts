import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach } from 'vitest';
import type { Caller } from '../../src/access/caller.js';
import { LOCAL_CALLER } from '../../src/access/caller.js';
import { blockFromText } from '../../src/ingest/lines.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { importCatalog } from '../../src/store/catalog.js';
import { createServer, type ServerOptions } from '../../src/mcp/server.js';
import type { Store } from '../../src/store/store.js';
import { FIXTURE_CATALOG, FIXTURE_NOW, smallFleet } from '../fixtures/small-fleet.js';
import { openTestStore, tempDir } from '../helpers.js';
import { AuditLog } from '../../src/access/audit.js';
import { join } from 'node:path';

const clients: Client[] = [];
afterEach(async () => {
  while (clients.length) await clients.pop()!.close();
});

export async function fixtureStore(records = smallFleet()): Promise<Store> {
  const store = await openTestStore(FIXTURE_NOW);
  await ingestLines(store, blockFromText(records.map((r) => JSON.stringify(r)).join('\n')), 'fixture');
  await store.write((db) => importCatalog(db, FIXTURE_CATALOG));
  return store;
}

const audits = new WeakMap<Store, AuditLog>();

/** One audit log per database, as in a real process, whoever the callers are. */
export function auditFor(store: Store): AuditLog {
  // Beside the database, as in production: it outlives the store, whose close commits held-back views.
  if (!audits.has(store)) audits.set(store, new AuditLog(store, { mirrorPath: `${store.path}.audit.jsonl` }));
  return audits.get(store)!;
}

/** A real SDK Client talking to our server over the SDK's in-memory transport. */
export async function connect(store: Store, caller: Caller = LOCAL_CALLER, extra: Partial<ServerOptions> = {}): Promise<Client> {
  const audit = extra.audit ?? auditFor(store);
  const server = createServer({ store, clock: store.clock, caller, log: () => undefined, audit, ...extra });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(clientSide);
  clients.push(client);
  return client;
}

export async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult & { structuredContent: any }> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult & { structuredContent: any };
}

export function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/**
 * Arguments that make each tool answer on the small fleet (and on any store holding
 * jira_create_issue); tools not named take none. In registry order, the alert rule is created,
 * changed and silenced before it is deleted.
 */
export const SAMPLE_ARGS: Record<string, Record<string, unknown>> = {
  trace_execution: { execution_id: 'wf_fail' },
  unmask_execution: { execution_id: 'wf_fail', reason: 'INC-7 schema check' },
  backtest_alert_rule: { rule: { kind: 'failures', threshold: 1, window: '1h' } },
  create_alert_rule: { rule: { name: 'jira-fails', kind: 'failures', threshold: 1, filters: { tool: 'jira_create_issue' } } },
  update_alert_rule: { name: 'jira-fails', changes: { threshold: 2 } },
  silence_alert: { rule: 'jira-fails', reason: 'CHG-1 planned maintenance', duration: '2h' },
  delete_alert_rule: { name: 'jira-fails' },
};
