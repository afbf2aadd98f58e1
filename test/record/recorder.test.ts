import { describe, expect, it } from 'vitest';
import { Recorder } from '../../src/record/recorder.js';
import { recordToolLists } from '../../src/store/catalog.js';
import { duckdbAnalytics } from '../../src/analytics/duckdb/index.js';
import { openTestStore } from '../helpers.js';
import { call, connect } from '../mcp/harness.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { blockFromText } from '../../src/ingest/lines.js';

/** A recorder on a clock that moves one second per message, collecting what it emits. */
function recorder(options: { server?: string } = {}) {
  const emitted: Array<Record<string, any>> = [];
  let t = Date.parse('2026-12-01T10:00:00Z');
  const r = new Recorder({ user: 'u_x', sessionId: 's1', ...options, now: () => new Date((t += 1000)) }, (rec) => emitted.push(rec));
  r.fromClient({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { clientInfo: { name: 'claude-ai' } } });
  r.fromServer({ jsonrpc: '2.0', id: 0, result: { serverInfo: { name: 'srv' } } });
  return { r, emitted };
}

describe('the recorder reads JSON-RPC traffic into execution records', () => {
  it('JSON-RPC errors, isError results, cancellations, string ids, batches and server requests with the same id', () => {
    const { r, emitted } = recorder();
    r.fromClient([
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'a', arguments: { q: 1 }, _meta: { traceparent: '00-abc-def-01' } } },
      { jsonrpc: '2.0', id: '1', method: 'tools/call', params: { name: 'b', arguments: {} } },
    ]);
    r.fromClient({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'c' } });
    // The server asks the client something with an id that equals a pending call's: not an answer.
    r.fromServer({ jsonrpc: '2.0', id: 1, method: 'sampling/createMessage', params: {} });
    r.fromServer({ jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'Invalid params' } });
    r.fromServer({ jsonrpc: '2.0', id: '1', result: { content: [{ type: 'text', text: 'boom' }], isError: true } });
    r.fromClient({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 2, reason: 'user' } });
    r.fromServer({ jsonrpc: '2.0', id: 2, result: { content: [] } }); // late: already stopped
    expect(emitted.map((e) => [e.tool.name, e.status, e.error?.type])).toEqual([
      ['a', 'failed', 'jsonrpc_-32602'],
      ['b', 'failed', 'tool_error'],
      ['c', 'stopped', 'cancelled'],
    ]);
    expect(emitted[0]).toMatchObject({ tool: { server: 'srv' }, agent: { client: 'claude-ai', session_id: 's1' }, traceparent: '00-abc-def-01', input: { q: 1 } });
    expect(emitted[1]!.error.message).toBe('boom');
    expect(new Set(emitted.map((e) => e.execution_id)).size).toBe(3);
    expect(r.outstanding).toBe(0);
  });

  it('--server wins over serverInfo; calls outstanding at exit are terminated', () => {
    const { r, emitted } = recorder({ server: 'github (work)' });
    r.fromClient({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'slow' } });
    r.terminateAll('the server exited with code 1 while the call was outstanding');
    expect(emitted).toMatchObject([{ status: 'terminated', tool: { name: 'slow', server: 'github (work)' }, error: { type: 'server_exited', layer: 'platform' } }]);
  });

  it('tool lists: a changed description or schema is a new version; the same list again only moves last_seen', async () => {
    const store = await openTestStore('2026-12-02T00:00:00Z');
    const list = (seen: string, description: string) => ({
      seen_at: seen,
      server: 'srv',
      tools: [{ name: 'a', description, input_schema_sha256: 'f'.repeat(64) }, { name: 'b', input_schema_sha256: 'e'.repeat(64) }],
    });
    await store.write((db) => recordToolLists(db, [list('2026-12-01T10:00:00Z', 'old'), list('2026-12-01T11:00:00Z', 'old')]));
    let lists = await duckdbAnalytics((task) => store.read(task)).catalog.toolLists(50);
    expect(lists).toEqual([{ server: 'srv', tools: 2, versions: 1, listed_since: '2026-12-01T10:00:00.000Z', last_seen: '2026-12-01T11:00:00.000Z', changed_tools: [] }]);
    await store.write((db) => recordToolLists(db, [list('2026-12-01T12:00:00+01:00', 'new wording')]));
    lists = await duckdbAnalytics((task) => store.read(task)).catalog.toolLists(50);
    expect(lists).toEqual([{ server: 'srv', tools: 2, versions: 2, listed_since: '2026-12-01T11:00:00.000Z', last_seen: '2026-12-01T11:00:00.000Z', changed_tools: [{ name: 'a', changed_at: '2026-12-01T11:00:00.000Z' }] }]);
  });

  it('a tool list line with a problem is quarantined with its reasons; a good one is stored, not read as an execution', async () => {
    const store = await openTestStore('2026-12-02T00:00:00Z');
    const good = { record_type: 'tool_catalog', seen_at: '2026-12-01T10:00:00Z', server: 'srv', tools: [{ name: 'a' }] };
    const bad = { record_type: 'tool_catalog', seen_at: 'yesterday', tools: [{ description: 'x' }] };
    const result = await ingestLines(store, blockFromText([good, bad].map((x) => JSON.stringify(x)).join('\n')), 'lists');
    expect(result).toMatchObject({ lines: 2, tool_lists: 1, inserted: 0, quarantined: { 'invalid_value:seen_at': 1 } });
    expect(result.rejected[0]!.reason).toMatch(/invalid_value:seen_at .* \| invalid_value:server .* \| invalid_value:tools\.0\.name/);
    expect(await duckdbAnalytics((task) => store.read(task)).catalog.toolLists(50)).toMatchObject([{ server: 'srv', tools: 1 }]);
  });

  it('a secret in a recorded tool description never leaves fleet_catalog', async () => {
    const store = await openTestStore('2026-12-02T00:00:00Z');
    const secret = `sk_live_${'4eC39HqLyjWDarjtT1zdp7dc'}`;
    await store.write((db) => recordToolLists(db, [{ seen_at: '2026-12-01T10:00:00Z', server: 'srv', tools: [{ name: 'pay', description: `charges with ${secret}` }] }]));
    await store.write((db) => recordToolLists(db, [{ seen_at: '2026-12-01T11:00:00Z', server: 'srv', tools: [{ name: 'pay', description: `now charges with ${secret} twice` }] }]));
    const answer = await call(await connect(store, { id: 'u_ben', role: 'member' }), 'fleet_catalog', {});
    expect(answer.structuredContent.tool_lists).toMatchObject([{ server: 'srv', versions: 2, changed_tools: [{ name: 'pay' }] }]);
    expect(JSON.stringify(answer)).not.toContain(secret);
  });
});
