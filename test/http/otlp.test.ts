import { describe, expect, it } from 'vitest';
import { count, openTestStore } from '../helpers.js';
import { heldSpanStats, holdSpans } from '../../src/store/otlp-held.js';
import { duckdbOtlpStore } from '../../src/ingest/otlp-store.js';
import { ingestOtlpTraces } from '../../src/ingest/otlp-ingest.js';
import { mapTraces } from '../../src/ingest/otlp.js';
import { blockFromRecords } from '../../src/ingest/lines.js';
import { bearer, startHttp, TOKENS } from './harness.js';

const ns = (iso: string) => String(BigInt(Date.parse(iso)) * 1_000_000n);
const attr = (key: string, value: string | number | boolean) => ({
  key,
  value: typeof value === 'string' ? { stringValue: value } : typeof value === 'boolean' ? { boolValue: value } : { intValue: String(value) },
});

/** What an MCP server instrumented per the OpenTelemetry MCP semantic conventions exports. */
function semconvRequest() {
  return {
    resourceSpans: [
      {
        resource: { attributes: [attr('service.name', 'sales-gateway'), attr('deployment.environment.name', 'prod')] },
        scopeSpans: [
          {
            scope: { name: 'mcp-server' },
            spans: [
              {
                traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'tools/call sync_opportunities', kind: 2,
                startTimeUnixNano: ns('2026-10-30T02:00:00Z'), endTimeUnixNano: ns('2026-10-30T02:00:02.750Z'),
                attributes: [
                  attr('mcp.method.name', 'tools/call'), attr('gen_ai.tool.name', 'sync_opportunities'), attr('mcp.session.id', 's_91'),
                  attr('jsonrpc.request.id', '42'), attr('user.id', 'u_ana'), attr('error.type', 'tool_error'),
                  attr('gen_ai.tool.call.arguments', '{"account":"ACME"}'), attr('mcp.client.name', 'claude-desktop'),
                ],
                status: { code: 2, message: 'Salesforce returned 500' },
              },
              {
                traceId: '5b8efff798038103d269b633813fc60c', spanId: '0000000000000001', parentSpanId: 'eee19b7ec3c1b174', name: 'SELECT Opportunity', kind: 3,
                startTimeUnixNano: ns('2026-10-30T02:00:00.100Z'), endTimeUnixNano: ns('2026-10-30T02:00:01Z'),
                attributes: [attr('peer.service', 'salesforce'), attr('db.operation.name', 'soql_query')], status: { code: 1 },
              },
              {
                traceId: '5b8efff798038103d269b633813fc60c', spanId: '0000000000000002', parentSpanId: 'eee19b7ec3c1b174', name: 'PATCH Opportunity', kind: 3,
                startTimeUnixNano: ns('2026-10-30T02:00:01Z'), endTimeUnixNano: ns('2026-10-30T02:00:02.700Z'),
                attributes: [attr('peer.service', 'salesforce'), attr('http.request.method', 'PATCH'), attr('error.type', '500')], status: { code: 2, message: 'HTTP 500' },
              },
              // Sentry's MCP integration, and no user at all: still an execution, user "unknown".
              {
                traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', spanId: 'bbbbbbbbbbbbbbbb', name: 'tools/call jira_search', kind: 2,
                startTimeUnixNano: ns('2026-10-30T03:00:00Z'), endTimeUnixNano: ns('2026-10-30T03:00:00.400Z'),
                attributes: [attr('mcp.tool.name', 'jira_search'), attr('mcp.request.id', '7'), attr('mcp.tool.result.is_error', false)],
              },
              // Not a tool call: ignored, not rejected.
              { traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', spanId: 'cccccccccccccccc', name: 'tools/list', kind: 2, startTimeUnixNano: ns('2026-10-30T03:00:00Z'), endTimeUnixNano: ns('2026-10-30T03:00:00.010Z'), attributes: [attr('mcp.method.name', 'tools/list')] },
              // A tool call with no tool name anywhere: rejected, reported in partialSuccess.
              { traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', spanId: 'dddddddddddddddd', name: 'mcp.request', kind: 2, startTimeUnixNano: ns('2026-10-30T03:00:00Z'), endTimeUnixNano: ns('2026-10-30T03:00:00.010Z'), attributes: [attr('mcp.method.name', 'tools/call')] },
            ],
          },
        ],
      },
    ],
  };
}

describe('POST /v1/traces (OTLP/HTTP JSON)', () => {
  it('maps MCP tool-call spans to executions and child spans to steps, with partial success', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store);
    const res = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/json' }, body: JSON.stringify(semconvRequest()) });
    expect(res.status).toBe(200);
    const reply = await res.json();
    expect(reply.partialSuccess.rejectedSpans).toBe(1);
    expect(reply.partialSuccess.errorMessage).toMatch(/missing_field:tool.name/);

    const rows = await store.read((db) =>
      db.all<Record<string, unknown>>(
        `SELECT execution_id, tool_name, tool_kind, tool_server, user_id, agent_client, agent_session_id, agent_workflow_run_id, status,
                error_type, error_layer, error_message, duration_ms, environment, input::VARCHAR AS input
         FROM executions ORDER BY started_at`,
      ),
    );
    // Both tool calls are the roots of their traces (no agent or session span above them): a trace
    // per call is no agent run, so they claim none.
    expect(rows).toEqual([
      {
        execution_id: '5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174', tool_name: 'sync_opportunities', tool_kind: 'workflow', tool_server: 'sales-gateway',
        user_id: 'u_ana', agent_client: 'claude-desktop', agent_session_id: 's_91', agent_workflow_run_id: null, status: 'failed',
        error_type: 'tool_error', error_layer: 'tool', error_message: 'Salesforce returned 500', duration_ms: 2750, environment: 'prod', input: '{"account":"ACME"}',
      },
      {
        execution_id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb', tool_name: 'jira_search', tool_kind: 'connector', tool_server: 'sales-gateway',
        user_id: 'unknown', agent_client: null, agent_session_id: null, agent_workflow_run_id: null, status: 'succeeded',
        error_type: null, error_layer: null, error_message: null, duration_ms: 400, environment: 'prod', input: null,
      },
    ]);
    const steps = await store.read((db) => db.all('SELECT step_index, name, connector, operation, status, error_type FROM steps ORDER BY step_index'));
    expect(steps).toEqual([
      { step_index: 0, name: 'SELECT Opportunity', connector: 'salesforce', operation: 'soql_query', status: 'succeeded', error_type: null },
      { step_index: 1, name: 'PATCH Opportunity', connector: 'salesforce', operation: 'PATCH', status: 'failed', error_type: '500' },
    ]);
    // The same export again changes nothing.
    await fetch(`${url}/v1/traces`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/json' }, body: JSON.stringify(semconvRequest()) });
    expect(await count(store, 'SELECT count(*) FROM executions')).toBe(2);
  });

  it('answers an empty success, 400 on bad JSON or a truncated protobuf, 415 for other types, 401 without a token', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store);
    const post = (body: string, headers: Record<string, string>) => fetch(`${url}/v1/traces`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), ...headers }, body });
    const empty = await post(JSON.stringify({ resourceSpans: [] }), { 'content-type': 'application/json' });
    expect(await empty.json()).toEqual({});
    expect((await post('{', { 'content-type': 'application/json' })).status).toBe(400);
    const truncated = await post('\u000a\u00ff', { 'content-type': 'application/x-protobuf' });
    expect(truncated.status).toBe(400);
    expect((await truncated.json()).error).toMatch(/not a valid OTLP ExportTraceServiceRequest in protobuf/);
    const other = await post('<spans/>', { 'content-type': 'application/xml' });
    expect(other.status).toBe(415);
    expect((await other.json()).error).toMatch(/send OTLP as application\/x-protobuf or application\/json/);
    expect((await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
  });
});

describe('OTLP: a malformed span costs only itself', () => {
  it('spans nested 100,000 deep, with fields of the wrong type, or with deep JSON arguments are rejected; the good one is stored', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store);
    // Written as text: serialising it here would overflow this test's own stack.
    const deepValue = `${'{"arrayValue":{"values":['.repeat(100_000)}{"stringValue":"bottom"}${']}}'.repeat(100_000)}`;
    const tool = (name: string) => [attr('mcp.method.name', 'tools/call'), attr('gen_ai.tool.name', name)];
    const span = (spanId: string, extra: Record<string, unknown>) => ({
      traceId: 'ffffffffffffffffffffffffffffffff', spanId, name: 'tools/call t', kind: 2,
      startTimeUnixNano: ns('2026-10-30T04:00:00Z'), endTimeUnixNano: ns('2026-10-30T04:00:01Z'), attributes: tool('t'), ...extra,
    });
    const body = JSON.stringify({
      resourceSpans: [{
        resource: { attributes: [attr('service.name', 'gw')] },
        scopeSpans: [{
          spans: [
            span('0000000000000010', {}),
            span('0000000000000011', { attributes: [...tool('t'), { key: 'deep', value: 'DEEP' }] }),
            span('0000000000000012', { attributes: [...tool('t'), attr('gen_ai.tool.call.arguments', `${'['.repeat(50_000)}${']'.repeat(50_000)}`)] }),
            span('0000000000000013', { name: 12345, attributes: 'not a list' }),
            span('0000000000000014', { attributes: [...tool('t'), attr('gen_ai.tool.call.arguments', '"\\ud800"')] }),
          ],
        }],
      }],
    }).replace('"DEEP"', deepValue);
    const res = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/json' }, body });
    expect(res.status).toBe(200);
    const reply = (await res.json()) as { partialSuccess: { rejectedSpans: number; errorMessage: string } };
    expect(reply.partialSuccess.rejectedSpans).toBe(4);
    expect(reply.partialSuccess.errorMessage).toMatch(/12345 0000000000000013: invalid_value:span \(a field has the wrong type/);
    expect(reply.partialSuccess.errorMessage).toMatch(/too_deep:attributes/);
    expect(reply.partialSuccess.errorMessage).toMatch(/too_deep:input/);
    expect(reply.partialSuccess.errorMessage).toMatch(/invalid_value:input \(a lone UTF-16 surrogate/);
    expect(await count(store, "SELECT count(*) FROM executions WHERE execution_id LIKE 'ffff%'")).toBe(1);
  });
});

describe('OTLP: spans of one tool call exported apart', () => {
  const request = (spans: Array<Record<string, unknown>>) => ({ resourceSpans: [{ resource: { attributes: [attr('service.name', 'sales-gateway')] }, scopeSpans: [{ spans }] }] });
  const call = (spanId: string, trace: string) => ({
    traceId: trace, spanId, name: 'tools/call sync', kind: 2, startTimeUnixNano: ns('2026-10-30T05:00:00Z'), endTimeUnixNano: ns('2026-10-30T05:00:06Z'),
    attributes: [attr('mcp.method.name', 'tools/call'), attr('gen_ai.tool.name', 'sync'), attr('user.id', 'u_ana')],
  });
  const child = (spanId: string, parent: string, trace: string, second: number, failed = false) => ({
    traceId: trace, spanId, parentSpanId: parent, name: `step ${spanId}`, kind: 3,
    startTimeUnixNano: ns(`2026-10-30T05:00:0${second}Z`), endTimeUnixNano: ns(`2026-10-30T05:00:0${second + 1}Z`),
    attributes: [attr('peer.service', 'salesforce')], status: failed ? { code: 2, message: 'HTTP 503' } : { code: 1 },
  });

  it('a child exported before its tool call waits and becomes its step; one exported after joins the stored call', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store);
    const post = async (body: unknown) => {
      const response = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(response.status).toBe(200);
      return response.json();
    };
    const early = 'e'.repeat(32);
    const late = 'f'.repeat(32);
    // BatchSpanProcessor: the children end first and leave in an earlier export than their call.
    await post(request([child('0000000000000001', 'a000000000000001', early, 1), child('0000000000000002', 'a000000000000001', early, 2, true)]));
    expect(await count(store, 'SELECT count(*) FROM executions')).toBe(0);
    expect(await count(store, 'SELECT count(*) FROM otlp_held_spans')).toBe(2);
    const health = async () => (await fetch(`${url}/healthz`, { headers: bearer(TOKENS.root) })).json();
    expect(await health()).toMatchObject({ otlp_spans_waiting: 2, otlp_orphan_spans: 0 });
    await post(request([call('a000000000000001', early)]));
    expect(await health()).toMatchObject({ otlp_spans_waiting: 0, otlp_orphan_spans: 0 });
    const first = await store.read((db) => db.one<{ tool_kind: string; step_count: number; failing_connector: string | null }>(
      `SELECT tool_kind, step_count, failing_connector FROM executions WHERE execution_id = '${early}-a000000000000001'`));
    expect(first).toEqual({ tool_kind: 'workflow', step_count: 2, failing_connector: 'salesforce' });
    expect(await count(store, 'SELECT count(*) FROM otlp_held_spans')).toBe(0);

    // The other way round: the call first, then a child that ended after it.
    await post(request([call('b000000000000001', late)]));
    await post(request([child('0000000000000003', 'b000000000000001', late, 3)]));
    const steps = await store.read((db) => db.all<{ step_index: number; name: string; connector: string }>(
      `SELECT step_index, name, connector FROM steps WHERE execution_id = '${late}-b000000000000001' ORDER BY step_index`));
    expect(steps).toEqual([{ step_index: 0, name: 'step 0000000000000003', connector: 'salesforce' }]);
    const second = await store.read((db) => db.one<{ step_count: number }>(`SELECT step_count FROM executions WHERE execution_id = '${late}-b000000000000001'`));
    expect(second?.step_count).toBe(1);
    expect(await count(store, 'SELECT count(*) FROM otlp_held_spans')).toBe(0);
  });
  it('a child held by a concurrent export after its call\'s record was made joins the call as a late step, not dropped', async () => {
    const store = await openTestStore();
    const otlp = duckdbOtlpStore(store);
    const trace = 'a'.repeat(32);
    // The call's export looks for held children, then the child's export lands (its call not
    // stored yet: it is held), then the call is stored: the child must not be released unseen.
    const held = await otlp.heldChildren([{ traceId: trace, spanId: 'c000000000000001' }]);
    expect(await ingestOtlpTraces(otlp, request([child('0000000000000001', 'c000000000000001', trace, 1)]), 'otlp:child')).toEqual({});
    const mapped = mapTraces(request([call('c000000000000001', trace)]), held.map((h) => h.span));
    await otlp.ingestRecords(blockFromRecords(mapped.records), 'otlp:call');
    await otlp.placeSpans(mapped.toolCalls, []);
    const steps = await store.read((db) => db.all<{ name: string }>(`SELECT name FROM steps WHERE execution_id = '${trace}-c000000000000001'`));
    expect(steps).toEqual([{ name: 'step 0000000000000001' }]);
    expect(await count(store, 'SELECT count(*) FROM otlp_held_spans')).toBe(0);
  });
});

describe('OTLP: what other emitters call things', () => {
  it('a tool-call span with a class name as error.type (Shinzo: "Error") gets the tool layer; OpenInference TOOL spans and Docker\'s mcp.tool.name are tool calls', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store);
    const span = (spanId: string, name: string, attributes: Array<ReturnType<typeof attr>>, status?: Record<string, unknown>) => ({
      traceId: 'c'.repeat(32), spanId, name, kind: 2, startTimeUnixNano: ns('2026-10-30T06:00:00Z'), endTimeUnixNano: ns('2026-10-30T06:00:01Z'), attributes, ...(status ? { status } : {}),
    });
    const body = {
      resourceSpans: [{ resource: { attributes: [attr('service.name', 'gw')] }, scopeSpans: [{ spans: [
        span('0000000000000011', 'tools/call send_invoice', [attr('mcp.method.name', 'tools/call'), attr('error.type', 'Error')], { code: 2, message: 'Stripe said no' }),
        span('0000000000000012', 'lookup_customer', [attr('openinference.span.kind', 'TOOL'), attr('input.value', '{"email":"a@b.c"}')]),
        span('0000000000000013', 'gateway call', [attr('mcp.tool.name', 'docker_run'), attr('mcp.session_id', 's_docker'), attr('mcp.transport', 'stdio')]),
      ] }] }],
    };
    const response = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(await response.json()).toEqual({});
    const rows = await store.read((db) => db.all<Record<string, unknown>>('SELECT tool_name, status, error_type, error_layer, error_message, agent_session_id, input::VARCHAR AS input FROM executions ORDER BY tool_name'));
    expect(rows).toEqual([
      { tool_name: 'docker_run', status: 'succeeded', error_type: null, error_layer: null, error_message: null, agent_session_id: 's_docker', input: null },
      { tool_name: 'lookup_customer', status: 'succeeded', error_type: null, error_layer: null, error_message: null, agent_session_id: null, input: '{"email":"a@b.c"}' },
      { tool_name: 'send_invoice', status: 'failed', error_type: 'Error', error_layer: 'tool', error_message: 'Stripe said no', agent_session_id: null, input: null },
    ]);
  });
});

describe('OTLP: spans whose tool call never comes', () => {
  it('wait an hour, then count as orphans and are dropped', async () => {
    const store = await openTestStore('2026-10-30T06:00:00Z');
    const at = (minutes: number) => new Date(Date.parse('2026-10-30T05:00:00Z') + minutes * 60_000);
    const span = (id: string) => ({ trace_id: 't', parent_span_id: `p${id}`, span_id: id, span: { spanId: id } });
    await store.write((db) => holdSpans(db, [span('1'), span('2')], at(0)));
    expect(await store.read((db) => heldSpanStats(db, at(30)))).toEqual({ waiting: 2, orphans: 0 });
    // Past the hour they are orphans, counted before and after they are dropped.
    expect(await store.read((db) => heldSpanStats(db, at(61)))).toEqual({ waiting: 0, orphans: 2 });
    await store.write((db) => holdSpans(db, [span('3')], at(61)));
    expect(await store.read((db) => heldSpanStats(db, at(61)))).toEqual({ waiting: 1, orphans: 2 });
    expect(await count(store, 'SELECT count(*) FROM otlp_held_spans')).toBe(1);
  });
});
