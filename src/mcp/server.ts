import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { AccessOptions } from '../access/access.js';
import type { Caller } from '../access/caller.js';
import type { AnalyticsBackend } from '../analytics/backend.js';
import type { Clock } from '../clock.js';
import type { Store } from '../store/store.js';
import { VERSION } from '../version.js';
import { compactText } from './compact-text.js';
import { answerTool, callerScope } from './call.js';
import { errorResult } from './errors.js';
import { registerPrompts } from './prompts.js';
import { registerViews } from './apps/views.js';
import { TOOLS } from './registry.js';
import { toolListing } from './tool-list.js';
import type { AuditLog } from '../access/audit.js';
import type { Channel } from '../alerts/channels.js';
import type { SinkConfig } from '../export/sinks.js';
import type { ExportStore } from '../export/export-store.js';
import type { AlertStore } from '../alerts/alert-store.js';

export interface ServerOptions {
  /** The DuckDB store; none for a server on ClickHouse, whose questions go to `analytics`. */
  store?: Store;
  clock: Clock;
  caller: Caller;
  access?: AccessOptions;
  audit: AuditLog;
  /** IANA zone for calendar windows and plain dates when a call gives none (serve --tz). */
  tz?: string;
  /** Where internal errors go; stderr by default (stdout belongs to the stdio transport). */
  log?: (line: string) => void;
  /** Notification channels of serve --alerts FILE, by name. */
  alertChannels?: ReadonlyMap<string, Channel>;
  /** Export sinks of serve --export FILE, by name. */
  exportSinks?: ReadonlyMap<string, SinkConfig>;
  /** Their cursors and status; the DuckDB store's by default. */
  exportStore?: ExportStore;
  /** Alerting's state; the DuckDB store's by default. */
  alertStore?: AlertStore;
  /** The engine the analytics read from; the DuckDB store's by default. */
  analytics?: AnalyticsBackend;
}

const cachedListing = new Map<string, ReturnType<typeof toolListing>>();
function listing(admin: boolean): ReturnType<typeof toolListing> {
  const key = `${admin}`;
  let tools = cachedListing.get(key);
  if (!tools) cachedListing.set(key, (tools = toolListing(TOOLS.filter((t) => admin || !t.adminOnly))));
  return tools;
}

export const SERVER_INFO = { name: 'mcp-blackbox', version: VERSION };

/**
 * Builds the MCP server for one caller. No side effects beyond the returned object: the entry
 * point picks the transport. The SDK is touched here and in prompts.ts only.
 */
export function createServer(options: ServerOptions): McpServer {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const scope = callerScope(options);
  const { access } = scope;
  const server = new McpServer(SERVER_INFO, {
    instructions:
      'mcp-blackbox answers questions about an MCP tool fleet from its execution logs. Start broad with usage_summary, ' +
      'rank with tool_usage, explain peaks with who_drove_spike, failures with failure_report, spend with cost_by_user / ' +
      'cost_by_tool, retire candidates with unused_tools; then list_executions and trace_execution for one execution. ' +
      'Use fleet_catalog for exact names. Payloads of other users are masked. ' +
      'Windowed tools take window (24h, 7d, 30d, 1mo, 1y, today, yesterday, this_week, last_week, this_month, last_month, all) ' +
      'or from/to (plain dates or RFC 3339; to is exclusive), calendar-aligned in tz (IANA, default UTC). The filters tool, ' +
      'user, team, server, client, environment and status match exact values; via_mcp false keeps only schedule and UI runs.',
  });
  for (const tool of TOOLS) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.inputSchema,
        outputSchema: tool.outputSchema,
        annotations: { title: tool.title, ...tool.annotations },
        ...(tool.view ? { _meta: tool.view } : {}),
      },
      async (args: Record<string, unknown>) => {
        try {
          const safe = await answerTool(tool, args, scope);
          // The summary first, then every field of the result as compact text: clients that
          // hand the model only the text content must not lose the cursor, the ids or the rows.
          return {
            structuredContent: safe.structured as Record<string, unknown>,
            content: [
              { type: 'text' as const, text: safe.summary },
              { type: 'text' as const, text: compactText(safe.structured) },
            ],
          };
        } catch (error) {
          // Error texts can quote stored values (the closest names to a misspelt filter): they
          // pass the redactor like any answer.
          const result = errorResult(tool.name, error, log);
          return { ...result, content: result.content.map((c) => (c.type === 'text' ? { ...c, text: access.protectText(c.text) } : c)) };
        }
      },
    );
  }
  // The SDK lists every schema as zod-to-JSON-Schema writes it, read at the start of every
  // conversation; ours says the same in far fewer bytes (tool-list.ts). Replaces the SDK's handler.
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: listing(access.isAdmin()) }));
  registerPrompts(server);
  registerViews(server);
  return server;
}
