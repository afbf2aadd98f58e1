import type { ExportEvent } from './events.js';

/** How each sink writes the one event schema: RFC 5424 syslog (JSON or CEF body), Splunk HEC, OTLP log records. */

/** Syslog severities (RFC 5424 6.2.1) for OCSF severity ids. */
const SYSLOG_SEVERITY: Record<number, number> = { 0: 6, 1: 6, 2: 5, 3: 4, 4: 3, 5: 2, 6: 1 };
const MSGID: Record<string, string> = { executions: 'execution', audit: 'audit', alerts: 'alert' };

export interface SyslogOptions {
  /** Facility number (RFC 5424): 13 log audit, 16-23 local0-7. */
  facility: number;
  /** Private Enterprise Number in our SD-ID (mcp-blackbox@PEN). */
  pen: number;
  body: 'json' | 'cef';
  hostname: string;
  procId: string;
}

/** SD-PARAM values escape `"`, `\` and `]` (RFC 5424 6.3.3). */
const sdValue = (value: unknown) => String(value).replace(/[\\"\]]/g, (c) => `\\${c}`);

/** One RFC 5424 message: header, our structured data element, then the body. */
export function syslogMessage(event: ExportEvent, options: SyslogOptions): string {
  const pri = options.facility * 8 + (SYSLOG_SEVERITY[event.severity_id] ?? 6);
  const timestamp = new Date(event.time).toISOString();
  // Header fields are printable US-ASCII without spaces, at most 255/48/128/32 characters.
  const field = (value: string, max: number) => value.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-';
  const params: Array<[string, unknown]> = [
    ['kind', event.mcp.kind],
    ['uid', event.metadata.uid],
    ...(event.metadata.sequence !== undefined ? [['seq', event.metadata.sequence] as [string, unknown]] : []),
    ['actor', event.actor.user.uid],
    ['operation', event.api.operation],
    ['outcome', event.event.outcome],
    ...(event.resources?.[0] ? [['tool', event.resources[0].name] as [string, unknown]] : []),
  ];
  const sd = `[mcp-blackbox@${options.pen} ${params.map(([k, v]) => `${k}="${sdValue(v)}"`).join(' ')}]`;
  const body = options.body === 'cef' ? cefMessage(event) : JSON.stringify(event);
  return `<${pri}>1 ${timestamp} ${field(options.hostname, 255)} mcp-blackbox ${field(options.procId, 128)} ${MSGID[event.metadata.log_name] ?? '-'} ${sd} ${body}`;
}

/** RFC 6587 octet counting: the length in bytes, a space, the message. */
export function octetCounted(message: string): Buffer {
  const bytes = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${bytes.length} `, 'ascii'), bytes]);
}

const cefHeader = (value: unknown) => String(value).replace(/[\\|]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ');
const cefExtension = (value: unknown) => String(value).replace(/[\\=]/g, (c) => `\\${c}`).replace(/\r?\n/g, '\\n');

/**
 * ArcSight CEF: `CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|Extension`, the
 * extension in CEF's own keys where one fits (suser, act, outcome, cs1 ...) and the rest in
 * labelled custom strings.
 */
export function cefMessage(event: ExportEvent): string {
  const severity = Math.min(10, event.severity_id * 2);
  const ext: Array<[string, unknown]> = [
    ['rt', event.time],
    ['suser', event.actor.user.uid],
    ['act', event.api.operation],
    ['outcome', event.event.outcome],
    ['externalId', event.metadata.uid],
    ['msg', event.message],
    ['cs1Label', 'tool'], ['cs1', event.resources?.[0]?.name ?? ''],
    ['cs2Label', 'server'], ['cs2', event.api.service.name],
    ['cs3Label', 'kind'], ['cs3', event.mcp.kind],
    ...(event.status_code ? [['cs4Label', 'error_type'], ['cs4', event.status_code]] as Array<[string, unknown]> : []),
    ...(event.actor.app_name ? [['requestClientApplication', event.actor.app_name]] as Array<[string, unknown]> : []),
    ...(event.duration !== undefined ? [['cn1Label', 'duration_ms'], ['cn1', event.duration]] as Array<[string, unknown]> : []),
    ...(event.metadata.sequence !== undefined ? [['cn2Label', 'sequence'], ['cn2', event.metadata.sequence]] as Array<[string, unknown]> : []),
  ];
  return `CEF:0|mcp-blackbox|mcp-blackbox|${cefHeader(event.metadata.product.version)}|${cefHeader(event.activity_name)}|${cefHeader(event.message.slice(0, 512))}|${severity}|${ext
    .map(([k, v]) => `${k}=${cefExtension(v)}`)
    .join(' ')}`;
}

export interface HecOptions {
  host: string;
  source: string;
  sourcetype: string;
  index?: string;
}

/** One Splunk HEC event object (several are concatenated in one request body). */
export function hecEvent(event: ExportEvent, options: HecOptions): Record<string, unknown> {
  return {
    time: event.time / 1000,
    host: options.host,
    source: options.source,
    sourcetype: options.sourcetype,
    ...(options.index ? { index: options.index } : {}),
    event,
    // Indexed fields: what a search filters on without parsing the event.
    fields: {
      kind: event.mcp.kind,
      outcome: event.event.outcome,
      actor: event.actor.user.uid,
      operation: event.api.operation,
      ...(event.resources?.[0] ? { tool: event.resources[0].name } : {}),
    },
  };
}

type AnyValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };
const anyValue = (value: unknown): AnyValue =>
  typeof value === 'number' ? (Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value }) : typeof value === 'boolean' ? { boolValue: value } : { stringValue: String(value) };

/** OTLP severity numbers (logs data model): INFO 9, WARN 13, ERROR 17, FATAL 21. */
const OTLP_SEVERITY: Record<number, [number, string]> = { 0: [9, 'INFO'], 1: [9, 'INFO'], 2: [10, 'INFO2'], 3: [13, 'WARN'], 4: [17, 'ERROR'], 5: [21, 'FATAL'] };

/**
 * One OTLP log record (JSON encoding): the event as the body, and the attributes an OpenTelemetry
 * pipeline routes on, named as the MCP semantic conventions name them.
 */
export function otlpLogRecord(event: ExportEvent): Record<string, unknown> {
  const [severityNumber, severityText] = OTLP_SEVERITY[event.severity_id] ?? [9, 'INFO'];
  const mcp = event.mcp as Record<string, unknown>;
  const attributes: Array<[string, unknown]> = [
    ['event.name', `mcp_blackbox.${mcp.kind as string}`],
    ['event.outcome', event.event.outcome],
    ['user.id', event.actor.user.uid],
    ...(event.mcp.kind === 'execution'
      ? ([
          ['mcp.method.name', 'tools/call'],
          ['gen_ai.operation.name', 'execute_tool'],
          ['gen_ai.tool.name', event.resources?.[0]?.name],
          ['mcp.server.name', event.api.service.name],
          ['mcp.tool.call.id', event.metadata.uid],
          ...(event.actor.session ? [['mcp.session.id', event.actor.session.uid]] : []),
          ...(event.actor.app_name ? [['gen_ai.agent.name', event.actor.app_name]] : []),
          ...(event.status_code ? [['error.type', event.status_code]] : []),
          ...(event.duration !== undefined ? [['mcp.duration_ms', event.duration]] : []),
        ] as Array<[string, unknown]>)
      : [['mcp_blackbox.operation', event.api.operation] as [string, unknown]]),
    ...(event.metadata.sequence !== undefined ? [['mcp_blackbox.sequence', event.metadata.sequence] as [string, unknown]] : []),
  ];
  return {
    timeUnixNano: `${BigInt(event.time) * 1_000_000n}`,
    observedTimeUnixNano: `${BigInt(event.metadata.logged_time) * 1_000_000n}`,
    severityNumber,
    severityText,
    body: { stringValue: JSON.stringify(event) },
    attributes: attributes.filter(([, v]) => v !== undefined && v !== null).map(([key, value]) => ({ key, value: anyValue(value) })),
  };
}
