import { describe, expect, it } from 'vitest';
import { loadBoth, sampleText, conformanceRanges as ranges, FILTERS } from './helpers.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { toolUsage } from '../../src/analytics/tool-usage.js';
import { listExecutions } from '../../src/analytics/executions.js';
import { traceExecution } from '../../src/analytics/trace.js';
import { failureReport } from '../../src/analytics/failures.js';
import { unusedTools } from '../../src/analytics/unused.js';
import { fleetCatalog } from '../../src/analytics/catalog.js';
import { myFailures } from '../../src/analytics/my-failures.js';
import { SAMPLE_ANCHOR } from '../../src/sample/fleet.js';
import { FIXTURE_CATALOG, FIXTURE_NOW, smallFleet } from '../fixtures/small-fleet.js';
import { connect } from '../mcp/harness.js';
import { LOCAL_CALLER } from '../../src/access/caller.js';
import { importCatalog } from '../../src/store/catalog.js';

/**
 * One fixture into both engines, every ported question asked of both: the answers must be
 * deep-equal, the tools' text included. The sample fleet brings what the format allows and
 * the small fixtures lack: repeats, running-then-final pairs, malformed lines, costs, teams.
 */

/** The conformance suite's second half (conformance.test.ts has the first): a file of its own, so the two run side by side. */
describe('conformance: DuckDB and ClickHouse give the same answers', () => {
  it('tool_usage by every dimension, failure_report, unused_tools, fleet_catalog and my_failures over windows and filters; list_executions page by page; trace_execution with steps, runs and sessions', async () => {
    const pair = await loadBoth(sampleText(), SAMPLE_ANCHOR);
    const dimensions = ['tool', 'user', 'team', 'server', 'client'] as const;
    for (const [w, { name, range }] of ranges(SAMPLE_ANCHOR).entries()) {
      for (const [f, filters] of FILTERS.entries()) {
        // Two dimensions per window and filter, in turn: each meets every filter and most windows.
        for (const by of [dimensions[(w + f) % 5]!, dimensions[(w + f + 2) % 5]!]) {
          const args = { range, filters, by, limit: 5 };
          expect(await toolUsage(pair.house, args), `tool_usage ${by} ${name} ${JSON.stringify(filters)}`).toEqual(await toolUsage(pair.duck, args));
        }
        const failureArgs = { range, filters, limit: 4 };
        expect(await failureReport(pair.house, failureArgs), `failure_report ${name} ${JSON.stringify(filters)}`).toEqual(await failureReport(pair.duck, failureArgs));
      }
      expect(await unusedTools(pair.house, { range, limit: 5 }), `unused_tools ${name}`).toEqual(await unusedTools(pair.duck, { range, limit: 5 }));
      expect(await fleetCatalog(pair.house, { range, limit: 4 }), `fleet_catalog ${name}`).toEqual(await fleetCatalog(pair.duck, { range, limit: 4 }));
      for (const user of ['u_dev_bot', 'u_ana', 'u_nobody']) {
        const args = { range, user, limit: 5 };
        expect(await myFailures(pair.house, args), `my_failures ${user} ${name}`).toEqual(await myFailures(pair.duck, args));
      }
    }
    const range = ranges(SAMPLE_ANCHOR)[0]!.range;
    let cursor: string | undefined;
    let pages = 0;
    const traced: string[] = [];
    do {
      const args = { range, filters: { team: 'eng' }, limit: 50, cursor };
      const [duck, house] = await Promise.all([listExecutions(pair.duck, args), listExecutions(pair.house, args)]);
      expect(house).toEqual(duck);
      traced.push(...duck.executions.filter((e, i) => i % 7 === 0 || e.step_count > 0 || e.error_type).map((e) => e.execution_id));
      cursor = duck.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThan(3);
    for (const id of traced) expect(await traceExecution(pair.house, id), `trace ${id}`).toEqual(await traceExecution(pair.duck, id));
    const withSteps = await Promise.all(traced.map((id) => traceExecution(pair.house, id)));
    expect(withSteps.some((t) => t.steps.length > 1 && t.failing_step !== null)).toBe(true);
    expect(withSteps.some((t) => t.related.same_session.length > 0)).toBe(true);
    await expect(traceExecution(pair.house, 'no-such-id')).rejects.toThrow(/No execution has id "no-such-id"/);
  });

  it('every analytics tool and backtests of alert rules answer the same through a real MCP client, text included, for members and admins', async () => {
    // The small fixture's planted spike and workflows, and the sample fleet's volume and mess.
    // Tool lists as wrap records them: a server's list seen twice, then with a changed description; another server's once.
    const list = (seen: string, server: string, description: string) =>
      JSON.stringify({ record_type: 'tool_catalog', seen_at: seen, server, tools: [{ name: 'jira_create_issue', description, input_schema_sha256: 'a'.repeat(64) }, { name: 'listed_only' }] });
    const lists = [
      list('2026-10-20T10:00:00Z', 'eng-gateway', 'Create an issue'), list('2026-10-21T10:00:00Z', 'eng-gateway', 'Create an issue'),
      list('2026-10-22T09:30:00.5+02:00', 'eng-gateway', 'Create a Jira issue'), list('2026-10-23T00:00:00Z', 'support-gateway', 'Post'),
    ];
    const text = [...smallFleet().map((r) => JSON.stringify(r)), ...lists, sampleText()].join('\n');
    const pair = await loadBoth(text, FIXTURE_NOW);
    await pair.store.write((db) => importCatalog(db, FIXTURE_CATALOG));
    await pair.house.addCatalogTools(FIXTURE_CATALOG);
    const calls: Array<{ name: string; arguments: Record<string, unknown> }> = [
      { name: 'usage_summary', arguments: {} },
      { name: 'usage_summary', arguments: { window: '30d', bucket: 'week' } },
      { name: 'usage_summary', arguments: { window: '24h', user: 'u_bot' } },
      { name: 'usage_summary', arguments: { from: '2026-10-28T14:30:00Z', to: '2026-10-28T16:10:00Z' } },
      { name: 'usage_summary', arguments: { from: '2019-01-01T00:00:00Z', to: '2019-02-01T00:00:00Z' } },
      { name: 'usage_summary', arguments: { team: 'revopz' } },
      { name: 'cost_by_user', arguments: { window: '30d' } },
      { name: 'cost_by_user', arguments: { group_by: 'team' } },
      { name: 'cost_by_tool', arguments: { window: '30d', limit: 2 } },
      { name: 'tool_usage', arguments: { window: '30d', by: 'user' } },
      { name: 'tool_usage', arguments: { by: 'client', status: 'failed' } },
      { name: 'who_drove_spike', arguments: {} },
      { name: 'who_drove_spike', arguments: { at: '2026-10-28T15:10:00Z', from: '2026-10-28T00:00:00Z', to: '2026-10-29T00:00:00Z' } },
      { name: 'list_executions', arguments: { window: '30d', status: 'failed', limit: 3 } },
      { name: 'list_executions', arguments: { workflow_run_id: 'run_1', window: '30d' } },
      { name: 'trace_execution', arguments: { execution_id: 'wf_ok' } },
      { name: 'trace_execution', arguments: { execution_id: 'bot_3' } },
      { name: 'trace_execution', arguments: { execution_id: 'nope' } },
      { name: 'failure_report', arguments: {} },
      { name: 'failure_report', arguments: { window: '30d', tool: 'jira_create_issue', limit: 2 } },
      { name: 'unused_tools', arguments: {} },
      { name: 'unused_tools', arguments: { window: '30d', server: 'eng-gateway' } },
      { name: 'fleet_catalog', arguments: {} },
      { name: 'fleet_catalog', arguments: { dimension: 'user', limit: 3 } },
      { name: 'my_failures', arguments: { window: '30d' } },
      { name: 'my_failures', arguments: { window: '30d', tool: 'jira_create_issue' } },
      // Backtests of drafts read the alert signals of the server's engine.
      { name: 'backtest_alert_rule', arguments: { rule: { kind: 'error_rate', threshold: 0.1, window: '1h', min_executions: 3, group_by: 'tool' }, window: '30d' } },
      { name: 'backtest_alert_rule', arguments: { rule: { kind: 'budget', measure: 'cost_usd', period: 'day', limit: 1, group_by: 'user' }, window: '30d' } },
      { name: 'backtest_alert_rule', arguments: { rule: { kind: 'tool_definition_changed', window: '1h' }, window: '30d' } },
      { name: 'backtest_alert_rule', arguments: { rule: { kind: 'unused_tool', days: 3 }, from: '2026-10-20', to: '2026-10-29' } },
    ];
    // The time of ingest differs between the two loads: the one field that may.
    const sameIngest = (value: unknown, key?: string): unknown => {
      if (key === 'last_ingested_at') return 'INGESTED';
      if (typeof value === 'string') return value.replace(/(last ingest |last_ingested_at(?:\\?")?\s*:\s*(?:\\?")?)[0-9TZ:.-]+/g, '$1INGESTED');
      if (Array.isArray(value)) return value.map((v) => sameIngest(v));
      if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, sameIngest(v, k)]));
      return value;
    };
    // A member asks the tools whose answers depend on who asks (their own payloads unmasked, their
    // own failures); the figures of the others do not.
    const BY_CALLER = new Set(['list_executions', 'trace_execution', 'failure_report', 'my_failures']);
    const callers = [LOCAL_CALLER, { id: 'u_bot', role: 'member' as const }];
    let answered = 0;
    for (const caller of callers) {
      const duckClient = await connect(pair.store, caller);
      const houseClient = await connect(pair.store, caller, { analytics: pair.house });
      for (const call of calls) {
        if (call.name === 'my_failures' && caller.id === 'local') continue;
        if (caller.role === 'member' && !BY_CALLER.has(call.name)) continue;
        const [duck, house] = (await Promise.all([duckClient.callTool(call), houseClient.callTool(call)])) as [CallToolResult, CallToolResult];
        expect(sameIngest(house), `${caller.id} ${call.name} ${JSON.stringify(call.arguments)}`).toEqual(sameIngest(duck));
        if (!duck.isError) answered++;
      }
    }
    // The unknown id (twice) and the misspelt team are errors in both; every other call answered.
    const forMember = calls.filter((c) => BY_CALLER.has(c.name)).length;
    expect(answered).toBe(calls.length - 2 - 2 + forMember - 1);
    const catalog = (await pair.house.catalog.toolLists(10)).map((l) => [l.server, l.versions, l.changed_tools.map((t) => t.name)]);
    expect(catalog).toEqual([['support-gateway', 1, []], ['eng-gateway', 2, ['jira_create_issue']]]);
  });
});
