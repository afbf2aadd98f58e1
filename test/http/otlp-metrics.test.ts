import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { openTestStore } from '../helpers.js';
import { connect, call, text } from '../mcp/harness.js';
import { startHttp, TOKENS } from './harness.js';
import { addMetricPoints } from '../../src/store/metrics.js';

describe('OTLP metrics: the MCP operation durations as tool-call counts', () => {
  it('a fleet that sends only metrics gets usage and latency answers, marked as from metrics; cumulative exports are not counted twice', async () => {
    const store = await openTestStore(new Date(Date.now() + 60_000).toISOString());
    const { url } = await startHttp(store);
    // The OpenTelemetry SDK's own metrics pipeline and its OTLP/HTTP protobuf exporter (cumulative, its default).
    const reader = new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter({ url: `${url}/v1/metrics`, headers: { Authorization: `Bearer ${TOKENS.gateway}` } }),
      exportIntervalMillis: 3_600_000,
    });
    const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'helpdesk' }), readers: [reader] });
    const duration = provider.getMeter('mcp').createHistogram('mcp.server.operation.duration', { unit: 's' });
    const call_ = (tool: string, seconds: number, error?: string) =>
      duration.record(seconds, { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': tool, ...(error ? { 'error.type': error } : {}) });
    call_('zendesk_get_ticket', 0.2);
    call_('zendesk_get_ticket', 0.4);
    call_('zendesk_close_ticket', 1.0, 'tool_error');
    duration.record(0.01, { 'mcp.method.name': 'tools/list' });
    await reader.forceFlush();
    // A second export of the same cumulative series, one call more.
    call_('zendesk_get_ticket', 0.3);
    await reader.forceFlush();
    await provider.shutdown();

    const client = await connect(store, { id: 'u_root', role: 'admin' });
    const usage = await call(client, 'usage_summary', { window: '1h' });
    expect(usage.isError).toBeFalsy();
    expect(usage.structuredContent.total_executions).toBe(0);
    expect(usage.structuredContent.from_metrics).toEqual({
      calls: 4,
      failures: 1,
      tools: [
        { tool: 'zendesk_get_ticket', server: 'helpdesk', side: 'server', calls: 3, failures: 0, mean_duration_ms: 300 },
        { tool: 'zendesk_close_ticket', server: 'helpdesk', side: 'server', calls: 1, failures: 1, mean_duration_ms: 1000 },
      ],
    });
    expect(text(usage)).toContain('From OTLP metrics (counts only: no users, no payloads, not in the figures above): 4 tool calls, 1 failed');
    expect(usage.structuredContent.note).toBeUndefined();
    const byTool = await call(client, 'tool_usage', { window: '1h', tool: 'zendesk_close_ticket' });
    expect(byTool.isError, text(byTool)).toBeFalsy();
    expect(byTool.structuredContent.from_metrics.tools).toEqual([expect.objectContaining({ tool: 'zendesk_close_ticket', calls: 1 })]);
    // Metrics know no users: a user filter gets no metrics figures rather than wrong ones (here,
    // with no executions either, the user is unknown).
    const byUser = await call(client, 'usage_summary', { window: '1h', user: 'u_root' });
    expect(byUser.structuredContent?.from_metrics ?? null).toBeNull();
    expect(text(byUser)).toMatch(/No user is named "u_root"/);
  });
});

describe('metric series state', () => {
  it('a series silent for a week is forgotten; a cumulative series counts only what it adds', async () => {
    const store = await openTestStore('2026-11-01T00:00:00Z');
    const point = (series: string, count: number, minute: string) => ({
      series, cumulative: true, start_ns: '1', time_ns: String(BigInt(Date.parse(minute)) * 1_000_000n), minute, side: 'server' as const, server: 's', tool: 't', failed: false, count, sum_ms: count * 10,
    });
    const day = (n: number) => new Date(Date.parse('2026-11-01T00:00:00Z') + n * 86_400_000);
    await store.write((db) => addMetricPoints(db, [point('a', 5, '2026-11-01T00:00:00Z'), point('b', 1, '2026-11-01T00:00:00Z')], day(0)));
    expect(await store.write((db) => addMetricPoints(db, [point('a', 7, '2026-11-02T00:00:00Z')], day(1)))).toBe(2);
    // Eight days on, b has said nothing for a week: its state goes; a's stays while it reports.
    await store.write((db) => addMetricPoints(db, [point('a', 9, '2026-11-09T00:00:00Z')], day(8)));
    const series = await store.read((db) => db.all<{ series: string }>('SELECT series FROM mcp_metric_series ORDER BY series'));
    expect(series.map((s) => s.series)).toEqual(['a']);
    const calls = await store.read((db) => db.one<{ n: number }>('SELECT sum(calls)::INTEGER AS n FROM mcp_metric_minutes'));
    expect(calls?.n).toBe(5 + 1 + 2 + 2);
  });
});
