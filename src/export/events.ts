import { maskValue } from '../access/masking.js';
import { redact, redactText } from '../access/redact.js';
import type { AlertExportRow, AuditExportRow, ExecutionRow, Stream } from '../store/export.js';
import { VERSION } from '../version.js';

/**
 * The one schema of what leaves for a SIEM, shaped after OCSF API Activity (class 6003): every
 * event, whatever its kind, has the class, the time, the actor, the API operation, its status
 * and ECS's `event.outcome`; kind-specific fields sit under `mcp`. Syslog, HEC, OTLP logs and the
 * files carry this object (CEF maps its fields).
 */

export const EXPORT_POLICIES = ['masked', 'metadata', 'raw'] as const;
/** masked: payloads masked as for a non-owner; metadata: no payloads; raw: as stored. The redactor runs on all but raw. */
export type ExportPolicy = (typeof EXPORT_POLICIES)[number];

export interface ExportEvent {
  class_uid: 6003;
  class_name: 'API Activity';
  category_uid: 6;
  category_name: 'Application Activity';
  activity_id: number;
  activity_name: string;
  type_uid: number;
  /** Epoch milliseconds of when it happened. */
  time: number;
  severity_id: number;
  severity: string;
  status_id: 1 | 2 | 0;
  status: 'Success' | 'Failure' | 'Unknown';
  status_code?: string;
  status_detail?: string;
  duration?: number;
  message: string;
  metadata: {
    version: '1.3.0';
    product: { name: 'mcp-blackbox'; vendor_name: 'mcp-blackbox'; version: string };
    uid: string;
    log_name: Stream;
    /** The event's place in its stream: audit and alert sequence numbers, or the execution's storage time. */
    sequence?: number;
    logged_time: number;
  };
  api: { operation: string; service: { name: string }; request?: { uid: string; data?: unknown }; response?: { data?: unknown; error?: string; message?: string } };
  actor: { user: { uid: string; email_addr?: string; name?: string; groups?: Array<{ name: string }>; type?: string }; app_name?: string; session?: { uid: string } };
  resources?: Array<{ name: string; type: string; group?: { name: string } }>;
  event: { kind: 'event' | 'alert'; category: string[]; action: string; outcome: 'success' | 'failure' | 'unknown'; dataset: string };
  mcp: Record<string, unknown>;
}

const PRODUCT = { name: 'mcp-blackbox', vendor_name: 'mcp-blackbox', version: VERSION } as const;
const BASE = { class_uid: 6003, class_name: 'API Activity', category_uid: 6, category_name: 'Application Activity' } as const;

/** OCSF severity ids: 1 informational, 2 low, 3 medium, 4 high, 5 critical. */
const SEVERITY: Record<string, [number, string]> = {
  info: [1, 'Informational'], warning: [3, 'Medium'], error: [4, 'High'], critical: [5, 'Critical'],
};

function payload(json: string | null, policy: ExportPolicy): unknown {
  if (json === null || policy === 'metadata') return undefined;
  const value = JSON.parse(json) as unknown;
  return policy === 'raw' ? value : maskValue(value);
}

export function executionEvent(row: ExecutionRow, policy: ExportPolicy): ExportEvent {
  const failed = row.status === 'failed' || row.status === 'terminated';
  const finished = row.status !== 'running';
  const outcome = !finished ? 'unknown' : failed ? 'failure' : 'success';
  // Outside raw, every text that came from a record passes the redactor, field by field (the
  // schema's own keys and constants need no scan: a walk over the whole object cost three times as
  // much). Masked payloads are markers whose keys maskValue has redacted already.
  const t = policy === 'raw' ? (value: string) => value : (value: string) => redactText(value);
  const o = <T extends string | null>(value: T): T => (value === null ? value : (t(value) as T));
  const input = payload(row.input, policy);
  const output = payload(row.output, policy);
  const errorMessage = row.error_message && policy !== 'metadata' ? t(row.error_message) : undefined;
  const user = t(row.user_id);
  const tool = t(row.tool_name);
  const server = o(row.tool_server);
  const errorType = o(row.error_type);
  return {
    ...BASE,
    // 99 Other: a tool call is not one of OCSF's create/read/update/delete.
    activity_id: 99,
    activity_name: 'tools/call',
    type_uid: 600399,
    time: Date.parse(row.started_at),
    severity_id: failed ? 3 : 1,
    severity: failed ? 'Medium' : 'Informational',
    status_id: outcome === 'success' ? 1 : outcome === 'failure' ? 2 : 0,
    status: outcome === 'success' ? 'Success' : outcome === 'failure' ? 'Failure' : 'Unknown',
    ...(errorType ? { status_code: errorType } : {}),
    ...(errorMessage ? { status_detail: errorMessage } : {}),
    ...(row.duration_ms !== null ? { duration: row.duration_ms } : {}),
    message: `${user} called ${tool}${server ? ` on ${server}` : ''}: ${row.status}${errorType ? ` (${errorType})` : ''}`,
    metadata: { version: '1.3.0', product: PRODUCT, uid: t(row.execution_id), log_name: 'executions', logged_time: Date.parse(row.ingested_at) },
    api: {
      operation: 'tools/call',
      service: { name: server ?? tool },
      request: { uid: t(row.execution_id), ...(input !== undefined ? { data: input } : {}) },
      response: {
        ...(output !== undefined ? { data: output } : {}),
        ...(errorType ? { error: errorType } : {}),
        ...(errorMessage ? { message: errorMessage } : {}),
      },
    },
    actor: {
      user: { uid: user, ...(row.user_email ? { email_addr: t(row.user_email) } : {}), ...(row.user_name ? { name: t(row.user_name) } : {}), ...(row.user_team ? { groups: [{ name: t(row.user_team) }] } : {}) },
      ...(row.agent_client ? { app_name: t(row.agent_client) } : {}),
      ...(row.agent_session_id ? { session: { uid: t(row.agent_session_id) } } : {}),
    },
    resources: [{ name: tool, type: `mcp_${row.tool_kind}`, ...(server ? { group: { name: server } } : {}) }],
    event: { kind: 'event', category: ['api'], action: 'tools/call', outcome, dataset: 'mcp_blackbox.execution' },
    mcp: {
      kind: 'execution', status: row.status, tool_kind: row.tool_kind, environment: o(row.environment), via_mcp: row.via_mcp, tasks: row.tasks,
      cost_usd: row.cost_usd, workflow_run_id: o(row.agent_workflow_run_id), error_layer: row.error_layer, steps: row.step_count, source: t(row.source),
      ended_at: row.ended_at, ingested_at: row.ingested_at,
    },
  };
}

/**
 * An audit event carries its chain fields (seq, prev_hash, hash, and details as the canonical
 * JSON the hash covers), so a SIEM can verify the chain downstream. Outside raw, the redactor runs
 * on them too: an event whose reason held a secret then fails its content check (the verifier
 * says it was redacted) while its links to its neighbours still verify.
 */
export function auditEvent(row: AuditExportRow, policy: ExportPolicy): ExportEvent {
  const denied = row.action === 'unmask_denied';
  const event: ExportEvent = {
    ...BASE,
    activity_id: 99,
    activity_name: `audit/${row.action}`,
    type_uid: 600399,
    time: Date.parse(row.at),
    severity_id: denied || row.action === 'unmask' ? 3 : 1,
    severity: denied || row.action === 'unmask' ? 'Medium' : 'Informational',
    status_id: denied ? 2 : 1,
    status: denied ? 'Failure' : 'Success',
    message: `${row.actor} (${row.role}) ${row.action}${row.target ? ` ${row.target}` : ''}${row.reason ? `: ${row.reason}` : ''}`,
    metadata: { version: '1.3.0', product: PRODUCT, uid: row.chain_id ? `audit-${row.chain_id}-${row.seq}` : `audit-${row.seq}`, log_name: 'audit', sequence: row.seq, logged_time: Date.parse(row.at) },
    api: { operation: `audit/${row.action}`, service: { name: 'mcp-blackbox' }, ...(row.target ? { request: { uid: row.target } } : {}) },
    actor: { user: { uid: row.actor, type: row.role } },
    event: { kind: 'event', category: ['iam'], action: row.action, outcome: denied ? 'failure' : 'success', dataset: 'mcp_blackbox.audit' },
    mcp: {
      kind: 'audit', chain: { ...(row.chain_id ? { id: row.chain_id } : {}), seq: row.seq, at: row.at, actor: row.actor, role: row.role, action: row.action, target: row.target, reason: row.reason, details: row.details, prev_hash: row.prev_hash, hash: row.hash },
    },
  };
  return policy === 'raw' ? event : (redact(event) as ExportEvent);
}

export function alertEvent(row: AlertExportRow, policy: ExportPolicy): ExportEvent {
  const [severityId, severity] = SEVERITY[row.severity] ?? [3, 'Medium'];
  const resolved = row.event === 'resolved';
  const event: ExportEvent = {
    ...BASE,
    activity_id: 99,
    activity_name: `alert/${row.event}`,
    type_uid: 600399,
    time: Date.parse(row.at),
    severity_id: resolved ? 1 : severityId,
    severity: resolved ? 'Informational' : severity,
    status_id: resolved ? 1 : 2,
    status: resolved ? 'Success' : 'Failure',
    message: `alert ${row.rule}${row.group_key ? ` (${row.group_key})` : ''} ${row.event}: ${row.value} against ${row.threshold}`,
    metadata: { version: '1.3.0', product: PRODUCT, uid: row.uid ?? `alert-${row.seq}`, log_name: 'alerts', ...(row.seq !== undefined ? { sequence: row.seq } : {}), logged_time: Date.parse(row.at) },
    api: { operation: `alert/${row.event}`, service: { name: 'mcp-blackbox' }, request: { uid: row.fingerprint } },
    actor: { user: { uid: 'mcp-blackbox', type: 'system' } },
    event: { kind: 'alert', category: ['intrusion_detection'], action: row.event, outcome: resolved ? 'success' : 'failure', dataset: 'mcp_blackbox.alert' },
    mcp: {
      kind: 'alert', rule: row.rule, group: row.group_key, fingerprint: row.fingerprint, alert_severity: row.severity, value: row.value, threshold: row.threshold,
      silenced: row.silenced, ...(row.explanation && policy !== 'metadata' ? { explanation: JSON.parse(row.explanation) } : {}),
    },
  };
  return policy === 'raw' ? event : (redact(event) as ExportEvent);
}
