import { z } from 'zod';
import { listExecutions } from '../../analytics/executions.js';
import { explainEmpty, filterArgs, filtersOf, filtersShape, limitArg, n, noteShape, rangeOf, span, timeArgs, windowShape, withNote } from '../common.js';
import { defineTool, READ_ONLY } from '../tool.js';

export const executionSummaryShape = z.object({
  execution_id: z.string(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  duration_ms: z.number().nullable(),
  status: z.string(),
  tool: z.string(),
  tool_kind: z.string(),
  server: z.string().nullable(),
  user_id: z.string(),
  team: z.string().nullable(),
  client: z.string().nullable(),
  session_id: z.string().nullable(),
  workflow_run_id: z.string().nullable(),
  environment: z.string().nullable(),
  via_mcp: z.boolean(),
  tasks: z.number(),
  cost_usd: z.number().nullable(),
  error_type: z.string().nullable(),
  error_layer: z.string().nullable(),
  step_count: z.number(),
});

export const list_executions = defineTool({
  name: 'list_executions',
  title: 'List executions',
  description: `Individual executions, newest first, metadata only: id, times, status, tool, user, team, client, session, agent run, tasks, cost, error type and layer.

Finds the ids behind a question ("my failed runs last night", "what agent run r_42 did"); then trace_execution one. Pass next_cursor back to page (null: the end). Default window 7d.
Example: "Show my failed executions since midnight."`,
  inputSchema: {
    ...timeArgs('7d'),
    ...filterArgs,
    workflow_run_id: z.string().optional().describe('Agent run id.'),
    session_id: z.string().optional(),
    limit: limitArg(20, 100),
    cursor: z.string().optional().describe('next_cursor of the previous page.'),
  },
  outputSchema: {
    window: windowShape,
    filters: filtersShape,
    total_matching: z.number(),
    executions: z.array(executionSummaryShape),
    next_cursor: z.string().nullable(),
    note: noteShape,
  },
  annotations: READ_ONLY,
  async handler(args, ctx) {
    const range = await rangeOf(args, ctx, '7d');
    const filters = filtersOf(args, ctx);
    const page = await listExecutions(ctx.analytics, { range, filters, limit: args.limit, cursor: args.cursor, workflowRunId: args.workflow_run_id, sessionId: args.session_id });
    const result = { ...page, executions: page.executions.map((e) => ctx.access.viewSummary(e)) };
    const note = result.total_matching === 0 ? await explainEmpty(ctx, range, filters) : undefined;
    const lines = result.executions
      .slice(0, 10)
      .map((e) => `${e.execution_id} ${e.started_at} ${e.tool} ${e.status}${e.error_type ? ` (${e.error_type}/${e.error_layer})` : ''} by ${e.user_id}`);
    const summary = `${n(result.total_matching)} executions match ${span(result.window)}; showing ${result.executions.length}${result.next_cursor ? ' (more: pass next_cursor)' : ''}.\n${lines.join('\n')}`;
    return withNote(result, summary, note);
  },
});
