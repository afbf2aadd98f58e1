import { describe, expect, it } from 'vitest';
import { duckdbAnalytics } from '../../src/analytics/duckdb/index.js';
import { clickhouseAnalytics } from '../../src/analytics/clickhouse/index.js';
import { listExecutions } from '../../src/analytics/executions.js';
import { myFailures } from '../../src/analytics/my-failures.js';
import { traceExecution } from '../../src/analytics/trace.js';
import { ingestOtlpMetrics, ingestOtlpTraces } from '../../src/ingest/otlp-ingest.js';
import { duckdbOtlpStore, type OtlpStore } from '../../src/ingest/otlp-store.js';
import { mapTraces, type ExportTraceServiceRequest } from '../../src/ingest/otlp.js';
import { blockFromRecords } from '../../src/ingest/lines.js';
import { clickhouseOtlpStore } from '../../src/store/clickhouse/otlp.js';
import { clickhouseExportStore } from '../../src/store/clickhouse/export.js';
import { duckdbExportStore, type ExportStore } from '../../src/export/export-store.js';
import { openTestStore } from '../helpers.js';
import { call as callTool, connect, text } from '../mcp/harness.js';
import { openClickHouseTestStore } from './helpers.js';

const NOW = '2026-10-30T12:00:00Z';
const RANGE = { from: new Date('2026-10-30T00:00:00Z'), to: new Date(NOW) };
const ns = (iso: string) => String(BigInt(Date.parse(iso)) * 1_000_000n);
const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });
const request = (spans: Array<Record<string, unknown>>): ExportTraceServiceRequest => ({
  resourceSpans: [{ resource: { attributes: [attr('service.name', 'sales-gateway')] }, scopeSpans: [{ spans }] }],
});
const call = (trace: string, spanId: string, at: string, tool = 'sync', failed = false) => ({
  traceId: trace, spanId, parentSpanId: 'ffffffffffffffff', name: `tools/call ${tool}`, kind: 2,
  startTimeUnixNano: ns(`2026-10-30T${at}Z`), endTimeUnixNano: ns(`2026-10-30T${at.slice(0, 6)}59Z`),
  attributes: [attr('mcp.method.name', 'tools/call'), attr('gen_ai.tool.name', tool), attr('user.id', 'u_ana'), attr('mcp.session.id', 's_1')],
  ...(failed ? { status: { code: 2, message: 'Salesforce said 503' } } : {}),
});
const child = (trace: string, spanId: string, parent: string, at: string, failed = false) => ({
  traceId: trace, spanId, parentSpanId: parent, name: `step ${spanId}`, kind: 3,
  startTimeUnixNano: ns(`2026-10-30T${at}Z`), endTimeUnixNano: ns(`2026-10-30T${at.slice(0, 6)}58Z`),
  attributes: [attr('peer.service', 'salesforce')], status: failed ? { code: 2, message: 'HTTP 503' } : { code: 1 },
});
const T = (c: string) => c.repeat(32);

/** Tool-call histograms as an SDK exports them: cumulative by default. */
function metrics(points: Array<{ tool: string; side: 'server' | 'client'; at: string; count: number; sum: number; start?: string; error?: boolean; delta?: boolean }>) {
  return {
    resourceMetrics: points.map((p) => ({
      resource: { attributes: [attr('service.name', 'helpdesk')] },
      scopeMetrics: [{ metrics: [{
        name: `mcp.${p.side}.operation.duration`, unit: 's',
        histogram: {
          aggregationTemporality: p.delta ? 1 : 2,
          dataPoints: [{
            attributes: [attr('mcp.method.name', 'tools/call'), attr('gen_ai.tool.name', p.tool), ...(p.error ? [attr('error.type', 'tool_error')] : [])],
            startTimeUnixNano: ns(p.start ?? '2026-10-30T08:00:00Z'), timeUnixNano: ns(p.at), count: String(p.count), sum: p.sum,
          }],
        },
      }] }],
    })),
  };
}

async function both() {
  const store = await openTestStore(NOW);
  const ch = await openClickHouseTestStore(NOW);
  return {
    store, ch,
    duck: { otlp: duckdbOtlpStore(store), analytics: duckdbAnalytics((task) => store.read(task)) },
    house: { otlp: clickhouseOtlpStore(ch), analytics: clickhouseAnalytics(ch.ch) },
  };
}

describe('OTLP into ClickHouse', () => {
  it('the same exports into both engines: children before and after their call, failed late steps, spans never claimed, metrics; every answer equal', async () => {
    const { duck, house, ch, store } = await both();
    const exports = [
      // The children of a call leave before it (a batch span processor exports by end time).
      request([child(T('a'), '00000000000000a1', 'a000000000000001', '09:00:10'), child(T('a'), '00000000000000a2', 'a000000000000001', '09:00:20', true)]),
      request([call(T('a'), 'a000000000000001', '09:00:00', 'sync', true), call(T('b'), 'b000000000000001', '09:30:00', 'lookup'), child(T('b'), '00000000000000b1', 'b000000000000001', '09:30:05')]),
      request([call(T('c'), 'c000000000000001', '10:00:00', 'close')]),
      // The call first, then children that ended after it, in two exports.
      request([child(T('c'), '00000000000000c1', 'c000000000000001', '10:00:10')]),
      request([child(T('c'), '00000000000000c2', 'c000000000000001', '10:00:20', true)]),
      // A child whose call never comes.
      request([child(T('d'), '00000000000000d1', 'd000000000000001', '11:00:00')]),
    ];
    const points = [
      metrics([{ tool: 'zendesk_get', side: 'server', at: '2026-10-30T09:01:00Z', count: 3, sum: 0.9 }, { tool: 'zendesk_get', side: 'client', at: '2026-10-30T09:01:00Z', count: 3, sum: 1.2 }]),
      metrics([{ tool: 'zendesk_get', side: 'server', at: '2026-10-30T09:02:00Z', count: 5, sum: 1.5 }, { tool: 'zendesk_close', side: 'client', at: '2026-10-30T09:02:00Z', count: 2, sum: 2, error: true, delta: true }]),
      // The process restarted: a new start time, a smaller count, counted whole.
      metrics([{ tool: 'zendesk_get', side: 'server', at: '2026-10-30T09:03:00Z', count: 1, sum: 0.2, start: '2026-10-30T09:02:30Z' }]),
    ];
    for (const target of [duck, house]) {
      for (const body of exports) expect(await ingestOtlpTraces(target.otlp, body, 'otlp:test')).toEqual({});
      for (const body of points) expect(await ingestOtlpMetrics(target.otlp, body)).toEqual({});
    }
    const list = { range: RANGE, filters: {}, limit: 10 };
    const listed = await listExecutions(house.analytics, list);
    expect(listed).toEqual(await listExecutions(duck.analytics, list));
    expect(listed.executions.map((e) => [e.tool, e.step_count])).toEqual([['close', 2], ['lookup', 1], ['sync', 2]]);
    for (const e of listed.executions) expect(await traceExecution(house.analytics, e.execution_id), e.tool).toEqual(await traceExecution(duck.analytics, e.execution_id));
    const late = await traceExecution(house.analytics, `${T('c')}-c000000000000001`);
    expect(late.steps.map((s) => [s.index, s.name, s.status])).toEqual([[0, 'step 00000000000000c1', 'succeeded'], [1, 'step 00000000000000c2', 'failed']]);
    expect(late.related.same_session.map((e) => e.step_count).sort()).toEqual([1, 2]);
    // The SIEM export sends each execution with its step count, late steps included.
    const exported = async (store: ExportStore) => Object.fromEntries((await store.executionsAfter(undefined, 100)).rows.map((r) => [r.tool_name, r.step_count]));
    expect(await exported(clickhouseExportStore(ch.ch, { settleMs: 0 }))).toEqual({ close: 2, lookup: 1, sync: 2 });
    expect(await exported(duckdbExportStore(store))).toEqual({ close: 2, lookup: 1, sync: 2 });
    // A replay of the range too.
    const replayed = await clickhouseExportStore(ch.ch, { settleMs: 0 }).executionsBetween(RANGE, null, 100);
    expect(Object.fromEntries(replayed.map((r) => [r.tool_name, r.step_count]))).toEqual({ close: 2, lookup: 1, sync: 2 });
    const mine = { range: RANGE, user: 'u_ana', limit: 5 };
    expect(await myFailures(house.analytics, mine)).toEqual(await myFailures(duck.analytics, mine));
    const usage = await house.analytics.metricsUsage(RANGE, {});
    expect(usage).toEqual(await duck.analytics.metricsUsage(RANGE, {}));
    expect(usage).toEqual({
      calls: 8, failures: 2,
      tools: [
        { tool: 'zendesk_get', server: 'helpdesk', side: 'server', calls: 6, failures: 0, mean_duration_ms: 283.3 },
        { tool: 'zendesk_close', server: null, side: 'client', calls: 2, failures: 2, mean_duration_ms: 1000 },
      ],
    });
    expect(await house.analytics.metricsUsage(RANGE, { tool: 'zendesk_close' })).toEqual(await duck.analytics.metricsUsage(RANGE, { tool: 'zendesk_close' }));
    expect(await house.analytics.metricsUsage(RANGE, { user: 'u_ana' })).toBeNull();
    expect(await house.otlp.heldSpanStats()).toEqual({ waiting: 1, orphans: 0 });
    expect(await house.otlp.heldSpanStats()).toEqual(await duck.otlp.heldSpanStats());
    // Past the hour its call never came: an orphan, counted for a day.
    const later = (hours: number) => openClickHouseTestStore(new Date(Date.parse(NOW) + hours * 3_600_000).toISOString(), ch.ch.database);
    expect(await clickhouseOtlpStore(await later(2)).heldSpanStats()).toEqual({ waiting: 0, orphans: 1 });
    expect(await clickhouseOtlpStore(await later(30)).heldSpanStats()).toEqual({ waiting: 0, orphans: 0 });
  });

  it('two instances: a call and its child taken at once are joined whatever the order; a child delivered twice is one step', async () => {
    const database = `otlp_two_${process.pid}`;
    const a = clickhouseOtlpStore(await openClickHouseTestStore(NOW, database));
    const b = clickhouseOtlpStore(await openClickHouseTestStore(NOW, database));
    const analytics = clickhouseAnalytics((await openClickHouseTestStore(NOW, database)).ch);
    const steps = async (trace: string, spanId: string) => (await traceExecution(analytics, `${trace}-${spanId}`)).steps.map((s) => s.name);

    // B looks for the call's held children before A holds the child; A looks for the call before
    // B stores it. B's lookup after its insert finds the child.
    const race = async (store: OtlpStore, body: ExportTraceServiceRequest, between: () => Promise<unknown>) => {
      const held = await store.heldChildren([{ traceId: T('e'), spanId: 'e000000000000001' }]);
      await between();
      const mapped = mapTraces(body, held.map((h) => h.span));
      await store.ingestRecords(blockFromRecords(mapped.records), 'otlp:b');
      await store.placeSpans(mapped.toolCalls, []);
    };
    await race(b, request([call(T('e'), 'e000000000000001', '09:00:00')]), () =>
      ingestOtlpTraces(a, request([child(T('e'), '00000000000000e1', 'e000000000000001', '09:00:10')]), 'otlp:a'));
    expect(await steps(T('e'), 'e000000000000001')).toEqual(['step 00000000000000e1']);

    // The child held first and taken by the call's record; then delivered again (an exporter's
    // retry) to the other instance, which finds the call stored: still one step.
    await ingestOtlpTraces(a, request([child(T('f'), '00000000000000f1', 'f000000000000001', '09:00:10')]), 'otlp:a');
    await ingestOtlpTraces(b, request([call(T('f'), 'f000000000000001', '09:00:00')]), 'otlp:b');
    await ingestOtlpTraces(a, request([child(T('f'), '00000000000000f1', 'f000000000000001', '09:00:10')]), 'otlp:a');
    await ingestOtlpTraces(b, request([child(T('f'), '00000000000000f2', 'f000000000000001', '09:00:20')]), 'otlp:b');
    await ingestOtlpTraces(a, request([child(T('f'), '00000000000000f2', 'f000000000000001', '09:00:20')]), 'otlp:a');
    expect(await steps(T('f'), 'f000000000000001')).toEqual(['step 00000000000000f1', 'step 00000000000000f2']);
    const listed = await listExecutions(analytics, { range: RANGE, filters: {}, limit: 10 });
    expect(listed.executions.map((e) => [e.execution_id.slice(0, 1), e.step_count])).toEqual([['f', 2], ['e', 1]]);
    expect(await a.heldSpanStats()).toEqual({ waiting: 0, orphans: 0 });
  });

  it('metric exports of one series that reach two instances out of order, or twice, count as one series in order; a delta point delivered twice counts once', async () => {
    const database = `otlp_metrics_${process.pid}`;
    const a = clickhouseOtlpStore(await openClickHouseTestStore(NOW, database));
    const b = clickhouseOtlpStore(await openClickHouseTestStore(NOW, database));
    const analytics = clickhouseAnalytics((await openClickHouseTestStore(NOW, database)).ch);
    const at = (minute: number, count: number) => metrics([{ tool: 'zendesk_get', side: 'server', at: `2026-10-30T09:0${minute}:00Z`, count, sum: count / 10 }]);
    await ingestOtlpMetrics(b, at(3, 9));
    await ingestOtlpMetrics(a, at(1, 4));
    await ingestOtlpMetrics(b, at(2, 6));
    await ingestOtlpMetrics(a, at(2, 6));
    // A delta point (what the SDK counted since its last export) delivered to both.
    const delta = metrics([{ tool: 'zendesk_close', side: 'server', at: '2026-10-30T09:02:00Z', count: 2, sum: 3, delta: true, error: true }]);
    await ingestOtlpMetrics(a, delta);
    await ingestOtlpMetrics(b, delta);
    const usage = await analytics.metricsUsage(RANGE, {});
    expect(usage?.calls).toBe(11);
    expect(usage?.tools).toEqual([
      { tool: 'zendesk_get', server: 'helpdesk', side: 'server', calls: 9, failures: 0, mean_duration_ms: 100 },
      { tool: 'zendesk_close', server: 'helpdesk', side: 'server', calls: 2, failures: 2, mean_duration_ms: 1500 },
    ]);
    // A window that starts after the series did counts only what was added in it.
    expect((await analytics.metricsUsage({ from: new Date('2026-10-30T09:02:00Z'), to: RANGE.to }, { tool: 'zendesk_get' }))?.calls).toBe(5);
  });
});

describe('OTLP into ClickHouse, as an attacker', () => {
  it('secrets in a late step\'s message and in an attribute\'s key and value leave trace_execution redacted; points no store can hold cost only themselves', async () => {
    const { duck, house, store } = await both();
    const STRIPE = `sk_live_${'4eC39HqLyjWDarjtT1zdp7dc'}`;
    const leaky = { ...call(T('s'), 's000000000000001', '09:00:00'), attributes: [...call(T('s'), 's000000000000001', '09:00:00').attributes, attr(STRIPE, 'password=hunter2')] };
    const lateChild = { ...child(T('s'), '00000000000000s1', 's000000000000001', '09:00:10', true), status: { code: 2, message: `connect failed: host=db password=hunter2 key ${STRIPE}` } };
    for (const target of [duck, house]) {
      await ingestOtlpTraces(target.otlp, request([leaky]), 'otlp:test');
      await ingestOtlpTraces(target.otlp, request([lateChild]), 'otlp:test');
    }
    for (const analytics of [duck.analytics, house.analytics]) {
      const answer = await callTool(await connect(store, { id: 'u_root', role: 'admin' }, { analytics }), 'trace_execution', { execution_id: `${T('s')}-s000000000000001` });
      expect(answer.isError, text(answer)).toBeFalsy();
      expect(answer.structuredContent.steps.map((s: { status: string }) => s.status)).toEqual(['failed']);
      for (const secret of ['hunter2', STRIPE]) {
        expect(text(answer)).not.toContain(secret);
        expect(JSON.stringify(answer.structuredContent)).not.toContain(secret);
      }
    }
    // A count that is no number, a negative one, a time past what the stores keep: skipped; the good point counted.
    const bad = metrics([
      { tool: 'zendesk_get', side: 'server', at: '2026-10-30T09:01:00Z', count: 2, sum: 0.2, delta: true },
      { tool: 'zendesk_bad', side: 'server', at: '2026-10-30T09:01:00Z', count: -3, sum: 1, delta: true },
      { tool: 'zendesk_bad', side: 'server', at: '2999-01-01T00:00:00Z', count: 3, sum: 1, delta: true },
    ]);
    (bad.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.histogram.dataPoints[0] as Record<string, unknown>).count = 'many';
    bad.resourceMetrics.push(metrics([{ tool: 'zendesk_ok', side: 'server', at: '2026-10-30T09:02:00Z', count: 4, sum: 0.4, delta: true }]).resourceMetrics[0]!);
    for (const target of [duck, house]) expect(await ingestOtlpMetrics(target.otlp, bad)).toEqual({});
    const counted = await house.analytics.metricsUsage(RANGE, {});
    expect(counted).toEqual(await duck.analytics.metricsUsage(RANGE, {}));
    expect(counted?.tools.map((t) => [t.tool, t.calls])).toEqual([['zendesk_ok', 4]]);
  });
});
