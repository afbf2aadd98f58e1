import { UserInputError } from '../errors.js';
import type { AnalyticsBackend } from './backend.js';
import type { Filters } from './filters.js';
import { describeRange, type TimeRange } from './time-range.js';

/** Execution metadata: what an agent may list without seeing any payload. */
export interface ExecutionSummary {
  execution_id: string;
  started_at: string;
  ended_at: string | null;
  duration_ms: number | null;
  status: string;
  tool: string;
  tool_kind: string;
  server: string | null;
  user_id: string;
  team: string | null;
  client: string | null;
  session_id: string | null;
  workflow_run_id: string | null;
  environment: string | null;
  via_mcp: boolean;
  tasks: number;
  cost_usd: number | null;
  error_type: string | null;
  error_layer: string | null;
  step_count: number;
}

export interface ExecutionPage {
  window: { from: string; to: string };
  filters: Filters;
  total_matching: number;
  executions: ExecutionSummary[];
  next_cursor: string | null;
}

/** Where a page ended: the last execution's start and id. */
export interface ExecutionCursor {
  t: string;
  id: string;
}

export function encodeCursor(cursor: ExecutionCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string): ExecutionCursor {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as ExecutionCursor;
    if (typeof value.t === 'string' && typeof value.id === 'string' && !Number.isNaN(Date.parse(value.t))) return value;
  } catch {
    // fall through
  }
  throw new UserInputError('cursor is not one this server returned: pass next_cursor from the previous page unchanged, or omit it for the first page.');
}

/** Which executions a page lists besides the range and filters: one agent run or session. */
export interface ExecutionScope {
  workflowRunId?: string;
  sessionId?: string;
}

export interface ExecutionQueries {
  /** Executions of the range, filters and scope. */
  count(range: TimeRange, filters: Filters, scope: ExecutionScope): Promise<number>;
  /** Newest first (ties: the greater id first), after `after` when given, at most `limit`. */
  page(range: TimeRange, filters: Filters, scope: ExecutionScope, after: ExecutionCursor | undefined, limit: number): Promise<ExecutionSummary[]>;
}

/** Newest first; `cursor` continues after the last row of the previous page. */
export async function listExecutions(
  backend: AnalyticsBackend,
  args: { range: TimeRange; filters: Filters; limit: number; cursor?: string; workflowRunId?: string; sessionId?: string },
): Promise<ExecutionPage> {
  const scope: ExecutionScope = { workflowRunId: args.workflowRunId, sessionId: args.sessionId };
  const after = args.cursor ? decodeCursor(args.cursor) : undefined;
  const [total, rows] = await Promise.all([
    backend.executions.count(args.range, args.filters, scope),
    backend.executions.page(args.range, args.filters, scope, after, args.limit + 1),
  ]);
  const page = rows.slice(0, args.limit);
  const last = page[page.length - 1];
  return {
    window: describeRange(args.range),
    filters: args.filters,
    total_matching: total,
    executions: page,
    next_cursor: rows.length > args.limit && last ? encodeCursor({ t: last.started_at, id: last.execution_id }) : null,
  };
}
