import { describe, expect, it } from 'vitest';
import { TOOLS } from '../../src/mcp/registry.js';
import { call, connect, fixtureStore, SAMPLE_ARGS, text } from './harness.js';

const ANA = { id: 'u_ana', role: 'member' } as const;
const ROOT = { id: 'u_root', role: 'admin' } as const;

/** Every execution id in a structured result (sample ids, rows, related executions). */
function idsIn(value: unknown, found = new Set<string>()): Set<string> {
  if (typeof value === 'string' && /^(?:ana|ben|bot|wf|legacy)_[\w-]+$/.test(value)) found.add(value);
  else if (Array.isArray(value)) value.forEach((v) => idsIn(v, found));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => idsIn(v, found));
  return found;
}

describe('the text answer is enough to act on', () => {
  it('every tool: each id and cursor of the structured result is in the text', async () => {
    const store = await fixtureStore();
    const client = await connect(store, ROOT);
    for (const tool of TOOLS) {
      const args: Record<string, unknown> =
        tool.name === 'list_executions' ? { limit: 3 } : (SAMPLE_ARGS[tool.name] ?? {});
      const result = await call(client, tool.name, args);
      expect(result.isError, tool.name).toBeFalsy();
      const answer = text(result);
      for (const id of idsIn(result.structuredContent)) expect(answer, `${tool.name}: ${id}`).toContain(id);
      const cursor = result.structuredContent.next_cursor;
      if (cursor) expect(answer, `${tool.name}: next_cursor`).toContain(cursor);
    }
  });

  it('list_executions pages with the cursor read from the text, and the ids in the text trace', async () => {
    const store = await fixtureStore();
    const client = await connect(store, ANA);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 3; page++) {
      const answer = text(await call(client, 'list_executions', { user: 'u_ana', limit: 4, ...(cursor ? { cursor } : {}) }));
      const rows = [...answer.matchAll(/^ {2}((?:ana|wf)_[\w-]+) \| /gm)].map((m) => m[1]!);
      expect(rows).toHaveLength(4);
      seen.push(...rows);
      cursor = /^next_cursor: (\S+)$/m.exec(answer)?.[1];
      expect(cursor).toBeDefined();
    }
    expect(new Set(seen).size).toBe(12);
    const trace = await call(client, 'trace_execution', { execution_id: seen[0]! });
    expect(trace.isError).toBeFalsy();
  });

  it('failure_report names samples the text alone can trace; trace_execution shows steps and related ids; unmask shows the raw data', async () => {
    const store = await fixtureStore();
    const client = await connect(store, ROOT);
    const failures = text(await call(client, 'failure_report', {}));
    const sample = /\| (wf_fail|bot_\d+)\s*$/m.exec(failures)?.[1];
    expect(sample).toBeDefined();
    const trace = text(await call(client, 'trace_execution', { execution_id: 'wf_fail' }));
    expect(trace).toMatch(/steps \(\d+\):\n.*index \| name/);
    expect(trace).toContain('wf_ok'); // the other execution of the same agent run, by id
    // Lines that cannot be misread: steps counted from 1, the layer spelled out, related runs named.
    expect(trace).toMatch(/^step 1 of 2: Lookup account \(index 0\) on salesforce/m);
    expect(trace).toMatch(/^step 2 of 2: Update opportunities \(index 1\) .*failed.*error http_500 at the connector layer/m);
    expect(trace).toMatch(/^Error: http_500 at the connector layer: /m);
    expect(trace).toMatch(/^Same agent run: wf_ok \(sync_opportunities, succeeded\)\.$/m);
    expect(trace).not.toContain('?');
    const unmask = text(await call(client, 'unmask_execution', { execution_id: 'wf_fail', reason: 'INC-8 raw data in the text' }));
    expect(unmask).toContain('account: ACME');
    expect(unmask).toContain('owner_email: ana@example.com');
  });

  it('who_drove_spike with status failed speaks of failures, in whole numbers', async () => {
    const store = await fixtureStore();
    const client = await connect(store, ROOT);
    const failed = text(await call(client, 'who_drove_spike', { status: 'failed' })).split('\n')[0]!;
    expect(failed).toMatch(/^Spike \S+ to \S+: \d+ failures vs a baseline of about \d+ \(\+\d+\)\. Top user u_bot \(\+\d+ failures, /);
    const all = text(await call(client, 'who_drove_spike', {})).split('\n')[0]!;
    expect(all).toMatch(/: \d+ executions vs a baseline of about \d+ /);
    expect(failed + all).not.toMatch(/\d\.\d+ (?:failures|executions)/);
  });

  it('audit_log says the range it covered, with wall-clock event times even when the data clock is pinned', async () => {
    const store = await fixtureStore(); // the data clock is pinned to 2026-11-01
    const client = await connect(store, ROOT);
    const before = Date.now();
    await call(client, 'unmask_execution', { execution_id: 'wf_fail', reason: 'INC-9 wall clock check' });
    const after = Date.now();
    const log = await call(client, 'audit_log', {});
    const at = Date.parse(log.structuredContent.events[0].at);
    expect(at).toBeGreaterThanOrEqual(before - 1);
    expect(at).toBeLessThanOrEqual(after + 1);
    const answer = text(log);
    expect(answer).toMatch(/^1 audit event from (\S+) to \1 \(the whole log\); the chain verifies/);
    expect(answer).not.toMatch(/1970|9999/);
    // A window counts back from the wall clock too, where the events are.
    expect((await call(client, 'audit_log', { window: '24h' })).structuredContent.total_matching).toBe(1);
  });

  it('failure_report: a burst of one error in one tool reads as one line, its total before its parts', async () => {
    const { openTestStore, record } = await import('../helpers.js');
    const { ingestLines } = await import('../../src/ingest/batch.js');
    const { blockFromText } = await import('../../src/ingest/lines.js');
    const store = await openTestStore();
    const at = (i: number) => new Date(Date.parse('2026-10-30T02:00:00Z') + i * 60_000).toISOString();
    const burst = Array.from({ length: 30 }, (_, i) =>
      record(`burst_${i}`, {
        started_at: at(i), ended_at: at(i), status: 'failed',
        tool: { name: 'sync_opportunities', kind: 'workflow' },
        user: { id: `u_${i % 4}` },
        error: { type: 'timeout', layer: i < 20 ? 'connector' : 'platform' },
        steps: [{ index: 0, name: 'Query', status: 'failed', connector: i < 20 ? 'salesforce' : 'hubspot' }],
      }),
    );
    const other = Array.from({ length: 3 }, (_, i) => record(`other_${i}`, { started_at: at(40 + i), ended_at: at(40 + i), status: 'failed', error: { type: 'http_500', layer: 'connector' } }));
    await ingestLines(store, blockFromText([...burst, ...other].map((r) => JSON.stringify(r)).join('\n')), 'burst');
    const result = await call(await connect(store, ROOT), 'failure_report', { window: '7d' });
    expect(result.structuredContent.rollup.map((r: any) => [r.error_type, r.tool, r.count])).toEqual([
      ['timeout', 'sync_opportunities', 30],
      ['http_500', 'jira_create_issue', 3],
    ]);
    const lines = text(result).split('\n');
    expect(lines[0]).toMatch(/^33 failures /);
    expect(lines[1]).toMatch(/^30× timeout in sync_opportunities \(\S+ to \S+\): 20 at the connector layer via salesforce, 10 at the platform layer via hubspot; e\.g\. burst_29$/);
    expect(lines[2]).toMatch(/^3× http_500 in jira_create_issue /);
  });

  it('fleet_catalog and unused_tools count the same catalog, and say how', async () => {
    const store = await fixtureStore();
    const client = await connect(store, ROOT);
    for (const window of ['7d', '30d', '90d']) {
      const catalog = await call(client, 'fleet_catalog', { window });
      const unused = await call(client, 'unused_tools', { window });
      expect(catalog.structuredContent.catalog, window).toEqual({
        tools: unused.structuredContent.catalog_size,
        used_in_window: unused.structuredContent.catalog_size - unused.structuredContent.unused_count,
        unused_in_window: unused.structuredContent.unused_count,
      });
      for (const answer of [text(catalog), text(unused)]) expect(answer).toContain('The catalog is every tool ever seen in the logs (by name and server) plus those of the catalog file and of the tool lists wrap recorded');
    }
    // never_tool (catalog file only) and legacy_tool (stopped in September) are the unused ones over 30 days.
    expect((await call(client, 'fleet_catalog', { window: '30d' })).structuredContent.catalog.unused_in_window).toBe(2);
  });
});
