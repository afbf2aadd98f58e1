import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { JsonSchemaType } from '@modelcontextprotocol/sdk/validation/types.js';
import { TOOLS } from '../../src/mcp/registry.js';
import { blockFromText } from '../../src/ingest/lines.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { lines, openTestStore, record } from '../helpers.js';
import { call, connect, fixtureStore, SAMPLE_ARGS, text } from './harness.js';
import { FIXTURE_NOW, smallFleet } from '../fixtures/small-fleet.js';

/** The fixture's extent, from the records themselves. */
function fixtureExtent() {
  const records = smallFleet();
  const starts = records.map((r) => Date.parse(r.started_at as string));
  return {
    stored: new Set(records.map((r) => r.execution_id)).size,
    first: new Date(Math.min(...starts)).toISOString(),
    last: new Date(Math.max(...starts)).toISOString(),
  };
}

describe('MCP tools over the SDK client (fixture with known answers)', () => {
  it('tools/list: every tool with hints and an output schema, under 20 KB, and every answer valid against what it advertises', async () => {
    const store = await fixtureStore();
    const client = await connect(store, { id: 'u_root', role: 'admin' });
    const listing = await client.listTools();
    expect(listing.tools.map((t) => t.name)).toEqual([
      'usage_summary', 'tool_usage', 'unused_tools', 'who_drove_spike', 'cost_by_user', 'cost_by_tool',
      'failure_report', 'my_failures', 'list_executions', 'trace_execution', 'fleet_catalog', 'unmask_execution', 'audit_log',
      'list_alerts', 'alert_rules', 'backtest_alert_rule', 'create_alert_rule', 'update_alert_rule', 'silence_alert', 'delete_alert_rule', 'export_status',
    ]);
    // The budget the model pays before its first question (the SDK's own listing was 52 KB for 12
    // tools): under 20 KB for a member; an admin's listing adds the six admin-only tools.
    expect(Buffer.byteLength(JSON.stringify(listing))).toBeLessThan(25_000);
    const member = await (await connect(store, { id: 'u_ben', role: 'member' })).listTools();
    expect(Buffer.byteLength(JSON.stringify(member))).toBeLessThan(20_000);
    expect(member.tools.map((t) => t.name)).toEqual(listing.tools.map((t) => t.name).filter((n) => !['unmask_execution', 'audit_log', 'create_alert_rule', 'update_alert_rule', 'delete_alert_rule', 'silence_alert', 'export_status'].includes(n)));
    const ajv = new AjvJsonSchemaValidator();
    for (const tool of listing.tools) {
      expect(tool.annotations, tool.name).toMatchObject({ readOnlyHint: expect.any(Boolean), openWorldHint: expect.any(Boolean) });
      expect(tool.description, tool.name).toMatch(/Example: "/);
      expect(Object.keys(tool.inputSchema.properties ?? {}), tool.name).toEqual(Object.keys(TOOLS.find((t) => t.name === tool.name)!.inputSchema));
      const declared = Object.keys(TOOLS.find((t) => t.name === tool.name)!.outputSchema);
      expect(Object.keys(tool.outputSchema!.properties ?? {}), tool.name).toEqual(declared);
      const args = SAMPLE_ARGS[tool.name] ?? {};
      const result = await call(client, tool.name, args);
      expect(result.isError, tool.name).toBeFalsy();
      const check = ajv.getValidator(tool.outputSchema as JsonSchemaType);
      expect(check(result.structuredContent), tool.name).toMatchObject({ valid: true });
      // The compact schema still checks something: a top-level field of the wrong type fails.
      const [name, schema] = Object.entries(tool.outputSchema!.properties as Record<string, { type?: unknown }>).find(([, p]) => p.type)!;
      const wrong = JSON.stringify(schema.type).includes('object') ? 42 : { wrong: [] };
      expect(check({ ...result.structuredContent, [name]: wrong }).valid, `${tool.name}.${name}`).toBe(false);
    }
  });

  it('usage_summary: totals, statuses, users, tasks, change and its drivers', async () => {
    const client = await connect(await fixtureStore());
    const result = await call(client, 'usage_summary', {});
    expect(result.isError).toBeFalsy();
    const s = result.structuredContent;
    expect(s.window).toEqual({ from: '2026-10-25T00:00:00.000Z', to: '2026-11-01T00:00:00.000Z' });
    expect(s.total_executions).toBe(43);
    expect(s.by_status).toEqual({ succeeded: 37, failed: 6, stopped: 0, terminated: 0, running: 0 });
    expect(s.success_rate).toBeCloseTo(37 / 43, 3);
    expect(s.active_users).toEqual({ total: 3, workflow_tool_users: 1, connector_tool_users: 3 });
    expect(s.tasks).toBe(21 + 20 + 5 + 4);
    expect(s.previous_window.total_executions).toBe(21);
    expect(s.change).toEqual({ delta: 22, percent: 104.8 });
    expect(s.top_tool_driver).toMatchObject({ name: 'jira_create_issue', current: 34, previous: 14, delta: 20, share_of_change: 0.909 });
    expect(s.top_user_driver).toMatchObject({ name: 'u_bot', delta: 20 });
    expect(s.bucket).toBe('day');
    expect(s.series).toHaveLength(7);
    expect(s.series.find((b: any) => b.start === '2026-10-28T00:00:00.000Z')).toMatchObject({ total: 23, failed: 5 });
    expect(text(result)).toContain('43 executions');
  });

  it('usage_summary honours filters and hour buckets', async () => {
    const client = await connect(await fixtureStore());
    const s = (await call(client, 'usage_summary', { window: '24h', user: 'u_ana' })).structuredContent;
    expect(s.bucket).toBe('hour');
    expect(s.series).toHaveLength(24);
    expect(s.total_executions).toBe(2);
  });

  it('tool_usage ranks by tool and by user', async () => {
    const client = await connect(await fixtureStore());
    const byTool = (await call(client, 'tool_usage', { by: 'tool' })).structuredContent;
    expect(byTool.rows.map((r: any) => [r.key, r.runs, r.failures])).toEqual([
      ['jira_create_issue', 34, 5],
      ['slack_post', 7, 0],
      ['sync_opportunities', 2, 1],
    ]);
    expect(byTool.rows[0]).toMatchObject({ distinct_users: 2, tasks: 34, p50_duration_ms: 1000, success_rate: 0.853 });
    const byUser = (await call(client, 'tool_usage', { by: 'user', limit: 1 })).structuredContent;
    expect(byUser.rows).toHaveLength(1);
    expect(byUser.rows[0].key).toBe('u_bot');
    expect(byUser.has_more).toBe(true);
  });

  it('unused_tools finds the retired tool and the never-used catalog tool', async () => {
    const client = await connect(await fixtureStore());
    const s = (await call(client, 'unused_tools', {})).structuredContent;
    expect(s.catalog_size).toBe(5);
    expect(s.tools).toEqual([
      { name: 'never_tool', server: 'eng-gateway', kind: 'connector', last_used: null, days_since_last_use: null, runs_in_previous_window: 0, listed_in_catalog: true },
      { name: 'legacy_tool', server: 'eng-gateway', kind: 'connector', last_used: '2026-09-20T12:00:00.000Z', days_since_last_use: 41, runs_in_previous_window: 5, listed_in_catalog: false },
    ]);
  });

  it('who_drove_spike finds the spike and ranks its drivers', async () => {
    const client = await connect(await fixtureStore());
    const s = (await call(client, 'who_drove_spike', {})).structuredContent;
    expect(s.baseline_method).toBe('same_hours_previous_days');
    expect(s.spike).toMatchObject({ start: '2026-10-28T15:00:00.000Z', end: '2026-10-28T16:00:00.000Z', executions: 20, baseline: 0, excess: 20, chosen_by: 'largest_excess' });
    expect(s.contributors.users[0]).toMatchObject({ key: 'u_bot', executions: 20, excess: 20, share_of_excess: 1, success_rate: 0.75 });
    expect(s.contributors.users[0].sample_execution_ids).toEqual(['bot_0', 'bot_1', 'bot_2']);
    expect(s.contributors.tools[0]).toMatchObject({ key: 'jira_create_issue', excess: 20 });
    expect(s.contributors.user_tool_pairs[0].key).toBe('u_bot × jira_create_issue');
    expect(s.contributors.teams[0].key).toBe('platform');
    expect(s.contributors.clients[0].key).toBe('ops-agent');

    // Given a time, it explains that bucket: the daily 10:00 hour is at its baseline.
    const at = (await call(client, 'who_drove_spike', { at: '2026-10-29T10:30:00Z' })).structuredContent;
    expect(at.spike).toMatchObject({ start: '2026-10-29T10:00:00.000Z', executions: 3, baseline: 3, excess: 0, chosen_by: 'at' });

    // A failure spike: only failed executions count.
    const failed = (await call(client, 'who_drove_spike', { status: 'failed' })).structuredContent;
    expect(failed.spike).toMatchObject({ executions: 5 });
    expect(failed.contributors.users[0]).toMatchObject({ key: 'u_bot', executions: 5 });
  });

  it('cost answers say how many executions state no tasks and count the default, across a replaced record', async () => {
    const store = await openTestStore('2026-11-01T00:00:00Z');
    const step = (index: number, tasks?: number) => ({ index, name: `s${index}`, status: 'succeeded', ...(tasks === undefined ? {} : { tasks }) });
    const workflow = { name: 'sync', kind: 'workflow', server: 'wf' };
    const first = [
      record('stated', { tasks: 5 }),
      record('defaulted'),
      record('all_steps', { tool: workflow, steps: [step(0, 2), step(1, 3)] }),
      record('one_step_missing', { tool: workflow, steps: [step(0, 2), step(1)] }),
      record('replaced', { status: 'running', ended_at: undefined }),
    ];
    await ingestLines(store, blockFromText(lines(...first)), 'a');
    const client = await connect(store);
    const before = await call(client, 'cost_by_tool', {});
    expect(before.structuredContent).toMatchObject({ executions: 5, executions_with_default_tasks: 3, total_tasks: 5 + 1 + 5 + 3 + 1 });
    // The final record states its tasks: the running one it replaces no longer counts as defaulted.
    await ingestLines(store, blockFromText(lines(record('replaced', { tasks: 2 }))), 'b');
    const after = await call(client, 'cost_by_user', {});
    expect(after.structuredContent).toMatchObject({ executions: 5, executions_with_default_tasks: 2, total_tasks: 5 + 1 + 5 + 3 + 2 });
    expect(text(after)).toContain('2 of the 5 executions (40.0%) state no tasks and count the default (1 per call or workflow step).');
  });

  it('cost_by_user and cost_by_tool: tasks, shares, change, top items', async () => {
    const client = await connect(await fixtureStore());
    const users = (await call(client, 'cost_by_user', {})).structuredContent;
    expect(users.total_tasks).toBe(92);
    expect(users.previous_total_tasks).toBe(5);
    expect(users.rows.map((r: any) => [r.key, r.tasks])).toEqual([['u_ana', 51], ['u_ben', 21], ['u_bot', 20]]);
    expect(users.rows[0].top).toEqual([
      { key: 'jira_create_issue', tasks: 42, cost_usd: null },
      { key: 'sync_opportunities', tasks: 9, cost_usd: null },
    ]);
    expect(users.rows[0].share_of_tasks).toBeCloseTo(51 / 92, 3);
    expect(users.rows[1]).toMatchObject({ key: 'u_ben', previous_tasks: 5, change_tasks: 16 });

    const teams = (await call(client, 'cost_by_user', { group_by: 'team' })).structuredContent;
    expect(teams.rows.map((r: any) => r.key)).toEqual(['revops', 'eng', 'platform']);

    const tools = (await call(client, 'cost_by_tool', {})).structuredContent;
    expect(tools.rows.map((r: any) => [r.key, r.tasks])).toEqual([['jira_create_issue', 62], ['slack_post', 21], ['sync_opportunities', 9]]);
    expect(tools.rows[0].top.map((t: any) => t.key)).toEqual(['u_ana', 'u_bot']);
  });

  it('failure_report groups by cause with the failing connector', async () => {
    const client = await connect(await fixtureStore());
    const s = (await call(client, 'failure_report', {})).structuredContent;
    expect(s.total_failures).toBe(6);
    expect(s.by_layer).toEqual([{ layer: 'connector', count: 6 }]);
    expect(s.groups.map((g: any) => [g.error_type, g.tool, g.connector, g.count])).toEqual([
      ['rate_limited', 'jira_create_issue', null, 5],
      ['http_500', 'sync_opportunities', 'salesforce', 1],
    ]);
    expect(s.groups[1]).toMatchObject({ sample_execution_id: 'wf_fail', first_seen: '2026-10-30T02:00:00.000Z' });
    expect(s.groups.map((g: any) => [g.affected_users, g.terminated])).toEqual([[1, 0], [1, 0]]);
    expect(s.failure_rate).toBe(Math.round((6 / 43) * 1000) / 1000);
  });

  it('list_executions pages with a cursor and never shows payloads', async () => {
    const client = await connect(await fixtureStore());
    const first = (await call(client, 'list_executions', { user: 'u_bot', limit: 8 })).structuredContent;
    expect(first.total_matching).toBe(20);
    expect(first.executions.map((e: any) => e.execution_id)).toEqual(['bot_19', 'bot_18', 'bot_17', 'bot_16', 'bot_15', 'bot_14', 'bot_13', 'bot_12']);
    const ids = [...first.executions.map((e: any) => e.execution_id)];
    let cursor = first.next_cursor;
    while (cursor) {
      const page = (await call(client, 'list_executions', { user: 'u_bot', limit: 8, cursor })).structuredContent;
      ids.push(...page.executions.map((e: any) => e.execution_id));
      cursor = page.next_cursor;
    }
    expect(new Set(ids).size).toBe(20);
    expect(JSON.stringify(first)).not.toContain('input');
  });

  it('trace_execution: steps, failing step, auth context, related executions', async () => {
    const client = await connect(await fixtureStore(), { id: 'u_ana', role: 'member' });
    const result = await call(client, 'trace_execution', { execution_id: 'wf_fail' });
    const s = result.structuredContent;
    expect(s.execution).toMatchObject({ user_id: 'u_ana', status: 'failed', client: 'cursor', workflow_run_id: 'run_1', duration_ms: 2750, tasks: 4 });
    expect(s.execution.error).toEqual({ type: 'http_500', layer: 'connector', message: 'Salesforce returned 500' });
    expect(s.failing_step).toBe(1);
    expect(s.steps.map((st: any) => [st.index, st.connector, st.operation, st.status, st.auth.mode, st.auth.identity])).toEqual([
      [0, 'salesforce', 'soql_query', 'succeeded', 'user', 'u_ana'],
      [1, 'salesforce', 'bulk_update', 'failed', 'user', 'u_ana'],
    ]);
    expect(s.related.same_workflow_run.map((e: any) => e.execution_id)).toEqual(['wf_ok']);
    expect(s.payloads).toBe('visible');
    expect(s.execution.input).toEqual({ account: 'ACME', owner_email: 'ana@example.com' });
    expect(text(result)).toContain('Failing step: step 2 of 2, Update opportunities.');
  });

  it('trace_execution: finds a session that lasts days and grows across batches, first executions first', async () => {
    const store = await openTestStore();
    const at = (hours: number) => new Date(Date.parse('2026-10-20T00:00:00Z') + hours * 3_600_000).toISOString();
    const inSession = (i: number, hours: number, run?: string) =>
      record(`long_${String(i).padStart(2, '0')}`, {
        started_at: at(hours),
        ended_at: at(hours + 0.01),
        agent: { client: 'claude-code', session_id: 's_long', ...(run ? { workflow_run_id: run } : {}) },
      });
    // 24 executions, one every 5 hours (almost five days), in two batches, the second one
    // earlier in time than the first: the session's span must widen both ways.
    await ingestLines(store, blockFromText(lines(...Array.from({ length: 12 }, (_, i) => inSession(i + 12, (i + 12) * 5, i === 0 ? 'run_x' : undefined)))), 'late');
    await ingestLines(store, blockFromText(lines(...Array.from({ length: 12 }, (_, i) => inSession(i, i * 5, i === 11 ? 'run_x' : undefined)))), 'early');
    const client = await connect(store);
    const s = (await call(client, 'trace_execution', { execution_id: 'long_23' })).structuredContent;
    expect(s.related.same_session.map((e: any) => e.execution_id)).toEqual(Array.from({ length: 20 }, (_, i) => `long_${String(i).padStart(2, '0')}`));
    expect(s.related.more_in_run_or_session).toBe(true);
    const run = (await call(client, 'trace_execution', { execution_id: 'long_12' })).structuredContent;
    expect(run.related.same_workflow_run.map((e: any) => e.execution_id)).toEqual(['long_11']);
    const spans = await store.read((db) => db.all('SELECT key, iso(first_started_at) AS first, iso(last_started_at) AS last FROM agent_spans ORDER BY key'));
    expect(spans).toEqual([
      { key: 'run:run_x', first: at(55), last: at(60) },
      { key: 'session:s_long', first: at(0), last: at(115) },
    ]);
  });

  it('fleet_catalog lists the names that exist', async () => {
    const client = await connect(await fixtureStore());
    const s = (await call(client, 'fleet_catalog', { dimension: 'user' })).structuredContent;
    expect(s.dimensions.user.values.map((v: any) => v.value)).toEqual(['u_ana', 'u_ben', 'u_bot']);
    expect(s.dimensions.tool).toBeUndefined();
    // And what the store holds in all, whatever the window: is the feed current?
    const { stored, first, last } = fixtureExtent();
    expect(s.store).toMatchObject({ executions: stored, oldest_started_at: first, newest_started_at: last });
    expect(Date.parse(s.store.last_ingested_at)).not.toBeNaN();
  });
});

describe('the tool registry', () => {
  it('has one module per tool, named after it, each exercised by a test', () => {
    const tests = readdirSync('test', { recursive: true })
      .filter((f) => String(f).endsWith('.test.ts'))
      .map((f) => readFileSync(join('test', String(f)), 'utf8'))
      .join('\n');
    for (const tool of TOOLS) {
      expect(existsSync(`src/mcp/tools/${tool.name.replaceAll('_', '-')}.ts`), tool.name).toBe(true);
      expect(tests, tool.name).toMatch(new RegExp(`(call\\(\\w+, |name: )'${tool.name}'`));
    }
  });
});

describe('An empty answer says where the data is', () => {
  const { stored, first, last } = fixtureExtent();
  const extent = `The store holds ${stored} executions, from ${first} to ${last}.`;

  it('a window after the data: every windowed tool notes the extent and a stopped feed', async () => {
    const client = await connect(await fixtureStore());
    const after = { from: '2026-11-10T00:00:00Z', to: '2026-11-17T00:00:00Z' };
    for (const [name, args] of [
      ['usage_summary', after], ['tool_usage', after], ['cost_by_user', after], ['cost_by_tool', after],
      ['list_executions', after], ['failure_report', after], ['who_drove_spike', after], ['unused_tools', after],
    ] as const) {
      const result = await call(client, name, args);
      expect(result.isError, name).toBeFalsy();
      expect(result.structuredContent.note, name).toContain(extent);
      expect(result.structuredContent.note, name).toMatch(/The newest started 17 days before this window's end: .* feed has stopped/);
      expect(text(result), name).toContain(extent);
    }
  });

  it('a window before the data, and one in a gap of it', async () => {
    const client = await connect(await fixtureStore());
    const before = await call(client, 'failure_report', { from: '2026-08-01T00:00:00Z', to: '2026-08-08T00:00:00Z' });
    expect(before.structuredContent.note).toContain(`${extent} This window ends before the oldest.`);
    const gap = await call(client, 'usage_summary', { from: '2026-10-01T00:00:00Z', to: '2026-10-05T00:00:00Z' });
    expect(gap.structuredContent.total_executions).toBe(0);
    expect(gap.structuredContent.note).toContain(`${extent} This window falls in a gap between them.`);
  });

  it('an empty store says nothing has been ingested', async () => {
    const client = await connect(await openTestStore(FIXTURE_NOW));
    const result = await call(client, 'usage_summary', {});
    expect(result.structuredContent.note).toMatch(/holds no executions yet.*mcp-blackbox ingest/);
  });

  it('no note when the window has data and the filters or the question leave nothing', async () => {
    const client = await connect(await fixtureStore());
    const filtered = await call(client, 'usage_summary', { status: 'terminated' });
    expect(filtered.structuredContent.total_executions).toBe(0);
    expect(filtered.structuredContent).not.toHaveProperty('note');
    const noFailures = await call(client, 'failure_report', { window: '24h', user: 'u_ben' });
    expect(noFailures.structuredContent.total_failures).toBe(0);
    expect(noFailures.structuredContent).not.toHaveProperty('note');
    const unused = await call(client, 'unused_tools', {});
    expect(unused.structuredContent.unused_count).toBeGreaterThan(0);
    expect(unused.structuredContent).not.toHaveProperty('note');
  });
});

describe('MCP tool errors tell the agent how to fix the call', () => {
  it('an unknown execution id', async () => {
    const client = await connect(await fixtureStore());
    const result = await call(client, 'trace_execution', { execution_id: 'nope' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/No execution has id "nope".*list_executions/);
  });

  it('an unknown tool or user name, with the closest real ones', async () => {
    const client = await connect(await fixtureStore());
    const result = await call(client, 'usage_summary', { tool: 'jira_create_issues' });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('No tool is named "jira_create_issues"; closest: jira_create_issue');
    const user = await call(client, 'tool_usage', { user: 'ana' });
    expect(text(user)).toMatch(/No user is named "ana"; closest: u_ana/);
  });

  it('bad windows, ranges, enums and cursors', async () => {
    const client = await connect(await fixtureStore());
    expect(text(await call(client, 'usage_summary', { window: 'last week' }))).toMatch(/window must be a length back from now \(90m, 24h, 7d, 2w, 1mo, 1y\), a calendar window .*, or all/);
    expect(text(await call(client, 'usage_summary', { window: '7d', from: '2026-10-01T00:00:00Z' }))).toMatch(/either window .* or from\/to/);
    expect(text(await call(client, 'usage_summary', { from: '2026-10-05T00:00:00Z', to: '2026-10-01T00:00:00Z' }))).toMatch(/must be before/);
    expect(text(await call(client, 'usage_summary', { from: 'yesterday' }))).toMatch(/RFC 3339/);
    const badEnum = await call(client, 'tool_usage', { by: 'planet' });
    expect(badEnum.isError).toBe(true);
    expect(text(badEnum)).toMatch(/tool.*user.*team.*server.*client/);
    expect(text(await call(client, 'list_executions', { cursor: 'garbage' }))).toMatch(/cursor is not one this server returned/);
    expect(text(await call(client, 'who_drove_spike', { at: '2026-09-01T00:00:00Z' }))).toMatch(/must fall inside the window/);
    expect((await call(client, 'tool_usage', { limit: 1000 })).isError).toBe(true);
  });

  it('an internal failure is logged, not shown raw', async () => {
    const store = await fixtureStore();
    const logged: string[] = [];
    const client = await connect(store, undefined, { log: (l) => logged.push(l) });
    await store.write((db) => db.run('ALTER TABLE executions RENAME TO gone'));
    const result = await call(client, 'usage_summary', {});
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('internal error');
    expect(text(result)).not.toMatch(/Catalog Error|executions does not exist/i);
    expect(logged.join('\n')).toMatch(/Catalog Error|does not exist/);
  });
});
