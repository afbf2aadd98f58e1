import { UserInputError } from '../errors.js';
import type { Db, Params } from '../store/store.js';
import { whereClause, type Filters } from './filters.js';
import { describeRange, sqlTime, type TimeRange } from './time-range.js';

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

export const SUMMARY_COLUMNS = `
  execution_id, iso(started_at) AS started_at, iso(ended_at) AS ended_at, duration_ms, status,
  tool_name AS tool, tool_kind, tool_server AS server, user_id, user_team AS team, agent_client AS client,
  agent_session_id AS session_id, agent_workflow_run_id AS workflow_run_id, environment, via_mcp, tasks,
  cost_usd, error_type, error_layer, step_count`;

export interface ExecutionPage {
  window: { from: string; to: string };
  filters: Filters;
  total_matching: number;
  executions: ExecutionSummary[];
  next_cursor: string | null;
}

interface Cursor {
  t: string;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string): Cursor {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Cursor;
    if (typeof value.t === 'string' && typeof value.id === 'string' && !Number.isNaN(Date.parse(value.t))) return value;
  } catch {
    // fall through
  }
  throw new UserInputError('cursor is not one this server returned: pass next_cursor from the previous page unchanged, or omit it for the first page.');
}

/** Newest first; `cursor` continues after the last row of the previous page. */
export async function listExecutions(
  db: Db,
  args: { range: TimeRange; filters: Filters; limit: number; cursor?: string; workflowRunId?: string; sessionId?: string },
): Promise<ExecutionPage> {
  const params: Params = { limit: args.limit + 1 };
  let where = whereClause(args.range, args.filters, params);
  if (args.workflowRunId !== undefined) {
    params.run = args.workflowRunId;
    where += ' AND agent_workflow_run_id = $run';
  }
  if (args.sessionId !== undefined) {
    params.session = args.sessionId;
    where += ' AND agent_session_id = $session';
  }
  const total = await db.one<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM executions WHERE ${where}`, params);
  let pageWhere = where;
  if (args.cursor) {
    const cursor = decodeCursor(args.cursor);
    params.c_t = sqlTime(cursor.t);
    params.c_id = cursor.id;
    pageWhere += ' AND (started_at, execution_id) < (CAST($c_t AS TIMESTAMP), $c_id)';
  }
  const rows = await db.all<ExecutionSummary>(
    `SELECT ${SUMMARY_COLUMNS} FROM executions WHERE ${pageWhere}
     ORDER BY started_at DESC, execution_id DESC LIMIT $limit`,
    params,
  );
  const page = rows.slice(0, args.limit);
  const last = page[page.length - 1];
  return {
    window: describeRange(args.range),
    filters: args.filters,
    total_matching: total?.n ?? 0,
    executions: page,
    next_cursor: rows.length > args.limit && last ? encodeCursor({ t: last.started_at, id: last.execution_id }) : null,
  };
}
