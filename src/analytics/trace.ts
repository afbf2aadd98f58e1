import { NotFoundError } from '../errors.js';
import type { AnalyticsBackend } from './backend.js';
import type { ExecutionSummary } from './executions.js';

export interface TraceStep {
  index: number;
  name: string;
  connector: string | null;
  operation: string | null;
  status: string;
  started_at: string | null;
  ended_at: string | null;
  duration_ms: number | null;
  tasks: number | null;
  auth: { mode: string | null; identity: string | null };
  error: { type: string | null; layer: string | null; message: string | null } | null;
  input: unknown;
  output: unknown;
}

export interface ExecutionTrace {
  execution: ExecutionSummary & {
    user_email: string | null;
    user_name: string | null;
    error: { type: string | null; layer: string | null; message: string | null } | null;
    input: unknown;
    output: unknown;
    attributes: Record<string, unknown> | null;
    source: string;
  };
  /** The first STEP_CAP steps in order, plus the first failing step when it comes later. */
  steps: TraceStep[];
  /** How many steps the execution has, and how many of them `steps` leaves out. */
  step_total: number;
  steps_omitted: number;
  /** The first step that failed or was terminated, if any. */
  failing_step: number | null;
  related: {
    same_workflow_run: ExecutionSummary[];
    same_session: ExecutionSummary[];
    more_in_run_or_session: boolean;
  };
}

const RELATED_LIMIT = 20;
/** Steps in one answer: a runaway workflow can record 100,000, and the answer must stay readable. */
export const STEP_CAP = 200;

const parse = (text: unknown): unknown => (typeof text === 'string' ? JSON.parse(text) : (text ?? null));

/** A stored step as the engines return it: payloads as JSON text, times as RFC 3339 UTC with milliseconds. */
export interface StepRow {
  step_index: number;
  name: string;
  connector: string | null;
  operation: string | null;
  status: string;
  started_at: string | null;
  ended_at: string | null;
  duration_ms: number | null;
  tasks: number | null;
  auth_mode: string | null;
  auth_identity: string | null;
  error_type: string | null;
  error_layer: string | null;
  error_message: string | null;
  input: string | null;
  output: string | null;
}

/** The execution as the engines return it for a trace: its summary and the fields only a trace shows. */
export type TraceRow = ExecutionSummary & {
  user_email: string | null;
  user_name: string | null;
  error_message: string | null;
  input: string | null;
  output: string | null;
  attributes: string | null;
  source: string;
};

export interface TraceQueries {
  execution(executionId: string): Promise<TraceRow | undefined>;
  /** The first `cap` steps by index, and the first failed or terminated step wherever it is; in index order. */
  steps(executionId: string, cap: number): Promise<StepRow[]>;
  /**
   * The first `limit` executions of an agent run or session by start (ties: by id), the traced
   * one left out once read (so up to limit - 1 of them).
   */
  neighbours(kind: 'run' | 'session', groupId: string, executionId: string, limit: number): Promise<ExecutionSummary[]>;
}

/**
 * One execution, its steps in order, and its neighbours in the same agent run or session.
 * Independent reads run side by side: the steps while the execution is read, then the run's and
 * the session's neighbours at once. A trace costs its longest path.
 */
export async function traceExecution(backend: AnalyticsBackend, executionId: string): Promise<ExecutionTrace> {
  const q = backend.trace;
  const stepsRead = q.steps(executionId, STEP_CAP);
  // Settled now, awaited below: an unknown id must not leave the steps read rejecting unobserved.
  stepsRead.catch(() => undefined);
  const row = await q.execution(executionId);
  if (!row) {
    throw new NotFoundError(
      `No execution has id ${JSON.stringify(executionId)}. Ids look like the execution_id field of the logs; find one with list_executions (filter by user, tool, status or window) or failure_report.`,
    );
  }
  const [sameRun = [], sameSession = []] = await Promise.all([
    row.workflow_run_id !== null ? q.neighbours('run', row.workflow_run_id, executionId, RELATED_LIMIT + 2) : undefined,
    row.session_id !== null ? q.neighbours('session', row.session_id, executionId, RELATED_LIMIT + 2) : undefined,
  ]);
  const steps = await stepsRead;

  const { user_email, user_name, error_message, input, output, attributes, source, ...summary } = row;
  const traceSteps: TraceStep[] = steps.map((s) => ({
    index: s.step_index,
    name: s.name,
    connector: s.connector,
    operation: s.operation,
    status: s.status,
    started_at: s.started_at,
    ended_at: s.ended_at,
    duration_ms: s.duration_ms,
    tasks: s.tasks,
    auth: { mode: s.auth_mode, identity: s.auth_identity },
    error: s.error_type || s.error_layer || s.error_message ? { type: s.error_type, layer: s.error_layer, message: s.error_message } : null,
    input: parse(s.input),
    output: parse(s.output),
  }));
  const failing = traceSteps.find((s) => s.status === 'failed' || s.status === 'terminated');
  return {
    execution: {
      ...summary,
      user_email,
      user_name,
      error: summary.error_type || summary.error_layer || error_message
        ? { type: summary.error_type, layer: summary.error_layer, message: error_message }
        : null,
      input: parse(input),
      output: parse(output),
      attributes: parse(attributes) as Record<string, unknown> | null,
      source,
    },
    steps: traceSteps,
    step_total: Math.max(Number(summary.step_count ?? 0), traceSteps.length),
    steps_omitted: Math.max(0, Number(summary.step_count ?? 0) - traceSteps.length),
    failing_step: failing ? failing.index : null,
    related: {
      same_workflow_run: sameRun.slice(0, RELATED_LIMIT),
      same_session: sameSession.slice(0, RELATED_LIMIT),
      more_in_run_or_session: sameRun.length > RELATED_LIMIT || sameSession.length > RELATED_LIMIT,
    },
  };
}
