import * as clientModule from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Metadata } from '@grpc/grpc-js';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as OTLPGrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { HttpAuth } from '../../src/http/auth.js';
import { duckdbOtlpStore } from '../../src/ingest/otlp-store.js';
import { startOtlpGrpc } from '../../src/http/otlp-grpc.js';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { McpInstrumentation } from '@traceloop/instrumentation-mcp';
import { traceTool } from '@arizeai/openinference-core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openTestStore } from '../helpers.js';
import { ACCESS, startHttp, TOKENS } from './harness.js';

/**
 * The proof that /v1/traces takes what real instrumentations emit today: OpenLLMetry's
 * @traceloop/instrumentation-mcp (the most used MCP instrumentation on npm) traces a real MCP
 * client, and the OpenTelemetry SDK's OTLP/HTTP exporter sends the spans to our endpoint.
 */
type Transport = 'http/json' | 'http/protobuf' | 'grpc';

/** The SDK's own exporter for each OTLP transport, pointed at our endpoints with the gateway's ingest token. */
async function exporterFor(transport: Transport, store: Awaited<ReturnType<typeof openTestStore>>) {
  if (transport === 'grpc') {
    const grpc = await startOtlpGrpc({ host: '127.0.0.1', port: 0 }, { otlp: duckdbOtlpStore(store), auth: new HttpAuth({ access: ACCESS }), log: () => undefined });
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${TOKENS.gateway}`);
    return { exporter: new OTLPGrpcTraceExporter({ url: `http://${grpc.address}`, metadata }), close: grpc.close };
  }
  const { url } = await startHttp(store);
  const options = { url: `${url}/v1/traces`, headers: { Authorization: `Bearer ${TOKENS.gateway}` } };
  return { exporter: transport === 'http/json' ? new OTLPTraceExporter(options) : new OTLPProtoTraceExporter(options), close: async () => undefined };
}

describe('OTLP from @traceloop/instrumentation-mcp through the OpenTelemetry exporters: HTTP JSON, HTTP protobuf, gRPC', () => {
  it.each(['http/json', 'http/protobuf', 'grpc'] as const)('%s: stores each traced tool call as an execution', async (transport) => {
    const store = await openTestStore(new Date().toISOString());
    const { exporter, close } = await exporterFor(transport, store);
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'support-agent' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const instrumentation = new McpInstrumentation();
    instrumentation.setTracerProvider(provider);
    // The MCP SDK is ESM, which require hooks cannot patch: the documented way is manuallyInstrument.
    instrumentation.manuallyInstrument({ Client: clientModule.Client });

    const server = new McpServer({ name: 'helpdesk', version: '1.0.0' });
    server.registerTool('zendesk_get_ticket', { inputSchema: { id: z.number() } }, async ({ id }) => ({ content: [{ type: 'text', text: `ticket ${id}: printer on fire` }] }));
    server.registerTool('zendesk_close_ticket', { inputSchema: { id: z.number() } }, async () => ({ isError: true, content: [{ type: 'text', text: 'ticket is locked' }] }));
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new clientModule.Client({ name: 'support-agent', version: '1.0.0' });
    await client.connect(clientSide);
    await client.callTool({ name: 'zendesk_get_ticket', arguments: { id: 42 } });
    await client.callTool({ name: 'zendesk_close_ticket', arguments: { id: 42 } });
    await client.close();
    await provider.forceFlush();
    await provider.shutdown();
    await close();

    const rows = await store.read((db) =>
      db.all<Record<string, unknown>>(
        `SELECT tool_name, status, user_id, agent_client, error_type, error_message, input::VARCHAR AS input, attributes::VARCHAR AS attributes
         FROM executions ORDER BY started_at`,
      ),
    );
    expect(rows.map((r) => [r.tool_name, r.status, r.user_id, r.agent_client])).toEqual([
      ['zendesk_get_ticket', 'succeeded', 'unknown', 'support-agent'],
      ['zendesk_close_ticket', 'failed', 'unknown', 'support-agent'],
    ]);
    expect(rows[1]!.error_message).toBe('ticket is locked');
    expect(String(rows[0]!.input)).toContain('42');
    // Both calls belong to one agent run: the trace of the client session.
    const runs = await store.read((db) => db.one<{ n: number }>('SELECT count(DISTINCT agent_workflow_run_id)::INTEGER AS n FROM executions'));
    expect(runs?.n).toBe(1);
  });
});

describe('OTLP from OpenInference (@arizeai/openinference-core traceTool) around a real MCP server', () => {
  it('stores a succeeding, a throwing and an isError tool, with input, output and the real error text', async () => {
    const store = await openTestStore(new Date().toISOString());
    const { exporter, close } = await exporterFor('http/protobuf', store);
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'helpdesk' }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('openinference');
    const server = new McpServer({ name: 'helpdesk', version: '1.0.0' });
    server.registerTool('zendesk_get_ticket', { inputSchema: { id: z.number() } },
      traceTool(async ({ id }: { id: number }) => ({ content: [{ type: 'text' as const, text: `ticket ${id}: printer on fire` }] }), { name: 'zendesk_get_ticket', tracer }));
    server.registerTool('zendesk_assign', { inputSchema: { id: z.number() } },
      traceTool(async (): Promise<{ content: Array<{ type: 'text'; text: string }> }> => { throw new Error('ticket is locked'); }, { name: 'zendesk_assign', tracer }));
    server.registerTool('zendesk_close_ticket', { inputSchema: { id: z.number() } },
      traceTool(async () => ({ isError: true, content: [{ type: 'text' as const, text: 'only agents may close tickets' }] }), { name: 'zendesk_close_ticket', tracer }));
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new clientModule.Client({ name: 'support-agent', version: '1.0.0' });
    await client.connect(clientSide);
    for (const name of ['zendesk_get_ticket', 'zendesk_assign', 'zendesk_close_ticket']) await client.callTool({ name, arguments: { id: 42 } });
    await client.close();
    await provider.forceFlush();
    await provider.shutdown();
    await close();

    const rows = await store.read((db) =>
      db.all<Record<string, unknown>>(`SELECT tool_name, tool_server, status, error_type, error_layer, error_message, input::VARCHAR AS input, output::VARCHAR AS output FROM executions ORDER BY started_at`),
    );
    expect(rows.map((r) => [r.tool_name, r.tool_server, r.status, r.error_layer, r.error_message])).toEqual([
      ['zendesk_get_ticket', 'helpdesk', 'succeeded', null, null],
      ['zendesk_assign', 'helpdesk', 'failed', 'tool', 'ticket is locked'],
      ['zendesk_close_ticket', 'helpdesk', 'failed', 'tool', 'only agents may close tickets'],
    ]);
    expect(JSON.parse(String(rows[0]!.input))).toEqual({ id: 42 });
    expect(String(rows[0]!.output)).toContain('printer on fire');
  });
});
