/**
 * The domain's shared vocabulary: what an execution's status, a tool's kind, an error's layer and
 * a step's auth mode can be. The log format (ingest/format.ts) accepts exactly these; analytics,
 * the tools and the alert rules speak them without depending on ingest.
 */
export const STATUSES = ['running', 'succeeded', 'failed', 'stopped', 'terminated'] as const;
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'stopped', 'terminated'] as const;
export const TOOL_KINDS = ['connector', 'workflow'] as const;
export const ERROR_LAYERS = ['llm', 'tool', 'connector', 'auth', 'platform'] as const;
export const AUTH_MODES = ['user', 'service', 'none'] as const;

export type Status = (typeof STATUSES)[number];
export type ToolKind = (typeof TOOL_KINDS)[number];
export type ErrorLayer = (typeof ERROR_LAYERS)[number];

/** The code a reason is counted under: its first problem, without the details. */
export function reasonCode(reason: string): string {
  const end = reason.search(/[ ;]/);
  return end === -1 ? reason : reason.slice(0, end);
}
