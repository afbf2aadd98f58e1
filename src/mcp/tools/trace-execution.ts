import { z } from 'zod';
import { STEP_CAP, traceExecution } from '../../analytics/trace.js';
import { appView } from '../apps/views.js';
import { defineTool, READ_ONLY } from '../tool.js';
import { executionSummaryShape } from './list-executions.js';

/** An error as a sentence, with its layer spelled out: nothing reads as "?". */
function describeError(error: { type: string | null; layer: string | null; message: string | null }): string {
  return `${error.type ?? 'of no recorded type'} at the ${error.layer ? `${error.layer} layer` : 'unrecorded layer'}${error.message ? `: ${error.message}` : ''}`;
}

/** Steps listed in the text answer; all of the shown ones are in the structured result. */
const SUMMARY_STEPS = 50;

const errorShape = z.object({ type: z.string().nullable(), layer: z.string().nullable(), message: z.string().nullable() }).nullable();

export const trace_execution = defineTool({
  name: 'trace_execution',
  title: 'Trace one execution',
  description: `One execution in full: who, client, session, agent run, timings, status, error and layer, each step (up to 200) with connector, operation, status and auth context (whose credentials). failing_step: the first failure; related: the run's and session's other executions.

Payloads: full on your own executions, masked on others'; secrets always redacted. Audited.
Example: "Why did execution ex_7f3a fail, and whose credentials did the failing step use?"`,
  inputSchema: {
    execution_id: z.string().min(1).max(128),
  },
  outputSchema: {
    payloads: z.enum(['visible', 'masked']),
    execution: executionSummaryShape.extend({
      user_email: z.string().nullable(),
      user_name: z.string().nullable(),
      error: errorShape,
      input: z.unknown(),
      output: z.unknown(),
      attributes: z.record(z.unknown()).nullable(),
      source: z.string(),
    }),
    steps: z.array(
      z.object({
        index: z.number(),
        name: z.string(),
        connector: z.string().nullable(),
        operation: z.string().nullable(),
        status: z.string(),
        started_at: z.string().nullable(),
        ended_at: z.string().nullable(),
        duration_ms: z.number().nullable(),
        tasks: z.number().nullable(),
        auth: z.object({ mode: z.string().nullable(), identity: z.string().nullable() }),
        error: errorShape,
        input: z.unknown(),
        output: z.unknown(),
      }),
    ),
    step_total: z.number(),
    steps_omitted: z.number(),
    failing_step: z.number().nullable(),
    related: z.object({
      same_workflow_run: z.array(executionSummaryShape),
      same_session: z.array(executionSummaryShape),
      more_in_run_or_session: z.boolean(),
    }),
  },
  annotations: READ_ONLY,
  view: appView('trace_execution'),
  async handler(args, ctx) {
    const trace = await traceExecution(ctx.analytics, args.execution_id);
    const view = ctx.access.viewTrace(trace);
    // A view is recorded after the answer is built, and committed with other views (the audit
    // log batches them): one commit per view would double the tool's latency and fill the write
    // queue that ingest shares. Unmask, which shows raw data, is audited before it answers.
    ctx.audit.note({ action: 'view_execution', target: args.execution_id, details: { payloads: view.payloads } }, (error: unknown) => {
      process.stderr.write(`[mcp-blackbox] audit of view_execution ${args.execution_id} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    });
    const e = view.execution;
    const failing = view.steps.find((s) => s.index === view.failing_step);
    // Steps are numbered from 1 in the text ("step 1 of 3"), with their index in the logs beside it.
    const stepLine = (st: (typeof view.steps)[number]) =>
      `step ${st.index + 1} of ${view.step_total}: ${st.name} (index ${st.index}) on ${st.connector ?? 'no connector'}${st.operation ? `, ${st.operation}` : ''}, ${st.status}, auth ${st.auth.mode ?? 'not recorded'}${st.auth.identity ? ` as ${st.auth.identity}` : ''}${st.error ? `, error ${describeError(st.error)}` : ''}`;
    const related = (label: string, list: typeof view.related.same_workflow_run) =>
      list.length ? `${label}: ${list.map((r) => `${r.execution_id} (${r.tool}, ${r.status})`).join(', ')}.` : '';
    const summary = [
      `${e.execution_id}: ${e.tool} (${e.tool_kind}) for ${e.user_id}${e.team ? ` (${e.team})` : ''} via ${e.client ?? 'an unrecorded client'}, ${e.status}, ${e.duration_ms === null ? 'duration not recorded' : `${e.duration_ms} ms`}, ${e.tasks} task${e.tasks === 1 ? '' : 's'}, started ${e.started_at}.`,
      e.error ? `Error: ${describeError(e.error)}.` : '',
      view.steps_omitted ? `Showing ${view.steps.length} of ${view.step_total} steps (the first ${STEP_CAP} and the first failing one); ${view.steps_omitted} left out.` : '',
      ...view.steps.slice(0, SUMMARY_STEPS).map((st) => `${stepLine(st)}.`),
      view.steps.length > SUMMARY_STEPS ? `And ${view.steps.length - SUMMARY_STEPS} more steps in the structured result.` : '',
      failing ? `Failing step: step ${failing.index + 1} of ${view.step_total}, ${failing.name}.` : '',
      `Payloads ${view.payloads}.`,
      related('Same agent run', view.related.same_workflow_run),
      related('Same session', view.related.same_session),
      view.related.more_in_run_or_session ? 'More executions in this run or session: list_executions with workflow_run_id or session_id.' : '',
    ].filter(Boolean).join('\n');
    return { structured: view, summary };
  },
});
