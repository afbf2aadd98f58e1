import { z } from 'zod';
import { duckdbAnalytics } from '../analytics/duckdb/index.js';
import { AccessView } from '../access/access.js';
import { UserInputError } from '../errors.js';
import { duckdbExportStore } from '../export/export-store.js';
import { duckdbAlertStore } from '../alerts/alert-store.js';
import { ME } from './common.js';
import type { ServerOptions } from './server.js';
import type { ToolContext, ToolDefinition, ToolResult } from './tool.js';

/** A caller's context for tool handlers, and the view that protects what they answer. */
export interface CallerScope {
  ctx: ToolContext;
  access: AccessView;
  callerId: string;
}

export function callerScope(options: ServerOptions): CallerScope {
  const store = options.store;
  if (!store && !options.analytics) throw new Error('a server needs a DuckDB store or an analytics backend');
  const access = new AccessView(options.caller, options.access);
  const ctx: ToolContext = {
    store: options.store,
    analytics: options.analytics ?? duckdbAnalytics((task) => store!.read(task)),
    clock: options.clock,
    access,
    audit: options.audit.as(options.caller),
    auditLog: options.audit,
    tz: options.tz,
    alertChannels: options.alertChannels ?? new Map(),
    exportSinks: options.exportSinks ?? new Map(),
    exportStore: options.exportStore ?? (store ? duckdbExportStore(store) : undefined),
    alertStore: options.alertStore ?? (store ? duckdbAlertStore(store) : undefined),
  };
  return { ctx, access, callerId: options.caller.id };
}

/**
 * Runs a tool for a caller and returns what may leave the server: every string of the answer
 * passed through the redactor and the caller's masking (the unmask alone is raw, and audited by
 * its handler first). The MCP server and the dashboard both answer through here, so a chart
 * never shows what the tool would not.
 */
export async function answerTool(tool: ToolDefinition<any, any>, args: Record<string, unknown>, scope: CallerScope): Promise<ToolResult<Record<string, unknown>>> {
  const { structured, summary } = await tool.handler(args, scope.ctx);
  // Say who "me" turned out to be: an agent must not mistake another identity's answer for its own.
  const said = args.user === ME ? `${summary} ("me" is ${scope.callerId}.)` : summary;
  return tool.rawOutput ? { structured, summary: said } : scope.access.protect({ structured, summary: said });
}

/**
 * Arguments from outside MCP (the dashboard's JSON) checked against the tool's own input schema,
 * defaults applied, as the SDK does for tools/call.
 */
export function parseToolArgs(tool: ToolDefinition<any, any>, raw: unknown): Record<string, unknown> {
  const parsed = z.object(tool.inputSchema).strict().safeParse(raw ?? {});
  if (parsed.success) return parsed.data as Record<string, unknown>;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('; ');
  throw new UserInputError(`Invalid arguments for ${tool.name}: ${problems}.`);
}
