import { UserInputError } from '../errors.js';
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z, ZodRawShape } from 'zod';
import type { AccessView } from '../access/access.js';
import type { AuditEventInput, AuditLog } from '../access/audit.js';
import type { AuditRow } from '../store/audit-events.js';
import type { Channel } from '../alerts/channels.js';
import type { SinkConfig } from '../export/sinks.js';
import type { ExportStore } from '../export/export-store.js';
import type { AlertStore } from '../alerts/alert-store.js';
import type { AnalyticsBackend } from '../analytics/backend.js';
import type { Clock } from '../clock.js';
import type { Store } from '../store/store.js';
import type { appView } from './apps/views.js';

/** Records what the caller did (the audit log), bound to one caller; resolves once committed. */
export interface CallerAudit {
  record(event: AuditEventInput): Promise<AuditRow>;
  /** Records an event nothing waits for; it is committed with the next batch. */
  note(event: AuditEventInput, onError: (error: unknown) => void): void;
}

/** What a tool handler may use: the store, the clock, the caller's view of the data, the audit log. */
export interface ToolContext {
  /** The DuckDB store, when the server runs on one. */
  store?: Store;
  /** The questions' queries, on the store's engine (AnalyticsBackend). */
  analytics: AnalyticsBackend;
  clock: Clock;
  access: AccessView;
  audit: CallerAudit;
  /** Verifies the audit chain (for audit_log). */
  auditLog: AuditLog;
  /** IANA zone for calendar windows and plain dates when a call gives no tz (serve --tz); UTC when unset. */
  tz?: string;
  /** The notification channels configured (serve --alerts FILE): rules may name only these. */
  alertChannels: ReadonlyMap<string, Channel>;
  /** The export sinks (serve --export FILE), for export_status. */
  exportSinks: ReadonlyMap<string, SinkConfig>;
  /** Where the sinks' cursors and status are kept (the DuckDB store's, or ClickHouse's). */
  exportStore?: ExportStore;
  /** Alerting's rules, states and notifications (the DuckDB store's, or ClickHouse's). */
  alertStore?: AlertStore;
}

/** A tool's answer: the structured object (matching its outputSchema) and a short human summary of it. */
export interface ToolResult<O> {
  structured: O;
  summary: string;
}

/**
 * One MCP tool, as plain data: the registry hands these to the SDK in one loop (server.ts), so a
 * tool file never touches the SDK and a move to another SDK version touches one file.
 */
export interface ToolDefinition<I extends ZodRawShape = ZodRawShape, O extends ZodRawShape = ZodRawShape> {
  name: string;
  title: string;
  description: string;
  inputSchema: I;
  outputSchema: O;
  annotations: Required<Pick<ToolAnnotations, 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint'>>;
  /** Results skip the secret redactor (only the audited unmask). */
  rawOutput?: boolean;
  /**
   * Listed to admins only: a member could not use it, and every tool listed costs each
   * conversation its bytes. Still callable by name, so a member's attempt is refused (and,
   * for an unmask, audited) rather than unknown.
   */
  adminOnly?: boolean;
  /** The MCP Apps view a host that renders apps shows with the answer (apps/views.ts); the text answer is the same without it. */
  view?: ReturnType<typeof appView>;
  handler: (args: z.objectOutputType<I, z.ZodTypeAny>, ctx: ToolContext) => Promise<ToolResult<z.objectOutputType<O, z.ZodTypeAny>>>;
}

export function defineTool<I extends ZodRawShape, O extends ZodRawShape>(tool: ToolDefinition<I, O>): ToolDefinition<I, O> {
  return tool;
}

/** Every read-only fleet question shares these hints. */
export const READ_ONLY = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
} as const;

/** The alert store of a tool that reads or changes alerting's state. */
export function alertStore(ctx: ToolContext): AlertStore {
  if (!ctx.alertStore) throw new UserInputError('This server keeps no alerting state; the fleet questions (usage_summary, failure_report, trace_execution, ...) work here.');
  return ctx.alertStore;
}
