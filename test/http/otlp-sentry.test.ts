import * as Sentry from '@sentry/node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openTestStore } from '../helpers.js';
import { startHttp, TOKENS } from './harness.js';

/**
 * Sentry 10's MCP integration (wrapMcpServerWithSentry), its spans sent to our endpoint by an
 * OTLP span processor (Sentry 11 cannot export OTLP). In a file of its own: Sentry.init installs
 * a global tracer provider.
 */
describe('OTLP from Sentry 10 (wrapMcpServerWithSentry) through an OTLP span processor', () => {
  it('server from mcp.server.name, input from mcp.request.argument.*, the real error text of a thrown and an isError tool', async () => {
    const store = await openTestStore(new Date().toISOString());
    const { url } = await startHttp(store);
    const exporter = new OTLPTraceExporter({ url: `${url}/v1/traces`, headers: { Authorization: `Bearer ${TOKENS.gateway}` } });
    Sentry.init({
      dsn: 'https://public@example.invalid/1',
      tracesSampleRate: 1,
      sendDefaultPii: true,
      openTelemetrySpanProcessors: [new SimpleSpanProcessor(exporter)],
      // Nothing goes to Sentry itself.
      transport: () => ({ send: async () => ({}), flush: async () => true }),
    });
    const server = Sentry.wrapMcpServerWithSentry(new McpServer({ name: 'helpdesk', version: '1.0.0' }));
    server.registerTool('zendesk_get_ticket', { inputSchema: { id: z.number() } }, async ({ id }) => ({ content: [{ type: 'text', text: `ticket ${id}: printer on fire` }] }));
    server.registerTool('zendesk_assign', { inputSchema: { id: z.number() } }, async () => {
      throw new Error('ticket is locked');
    });
    server.registerTool('zendesk_close_ticket', { inputSchema: { id: z.number() } }, async () => ({ isError: true, content: [{ type: 'text', text: 'only agents may close tickets' }] }));
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'support-agent', version: '1.0.0' });
    await client.connect(clientSide);
    for (const name of ['zendesk_get_ticket', 'zendesk_assign', 'zendesk_close_ticket']) await client.callTool({ name, arguments: { id: 42 } });
    await client.close();
    // The span processor exports each span as it ends; its requests are in flight here.
    const deadline = Date.now() + 15_000;
    const stored = () => store.read((db) => db.one<{ n: number }>('SELECT count(*)::INTEGER AS n FROM executions'));
    while (((await stored())?.n ?? 0) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await Sentry.close(2000).catch(() => undefined);

    const rows = await store.read((db) =>
      db.all<Record<string, unknown>>(
        `SELECT tool_name, tool_server, agent_client, agent_workflow_run_id, status, error_type, error_layer, error_message, input::VARCHAR AS input, output::VARCHAR AS output
         FROM executions ORDER BY started_at`,
      ),
    );
    expect(rows.map((r) => [r.tool_name, r.tool_server, r.agent_client, r.status, r.error_layer, r.error_message])).toEqual([
      ['zendesk_get_ticket', 'helpdesk', 'support-agent', 'succeeded', null, null],
      ['zendesk_assign', 'helpdesk', 'support-agent', 'failed', 'tool', 'ticket is locked'],
      ['zendesk_close_ticket', 'helpdesk', 'support-agent', 'failed', 'tool', 'only agents may close tickets'],
    ]);
    expect(JSON.parse(String(rows[0]!.input))).toEqual({ id: 42 });
    expect(String(rows[0]!.output)).toContain('printer on fire');
    // Sentry starts a trace per request: each call is the root of its own, and claims no agent run.
    expect(rows.map((r) => r.agent_workflow_run_id)).toEqual([null, null, null]);
  });
});
