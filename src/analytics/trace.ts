import { NotFoundError } from '../errors.js';
import type { Db, Reader } from '../store/store.js';
import { SUMMARY_COLUMNS, type ExecutionSummary } from './executions.js';
import { sqlTime } from './time-range.js';

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
  steps: TraceStep[];
  /** The first step that failed or was terminated, if any. */
  failing_step: number | null;
  related: {
    same_workflow_run: ExecutionSummary[];
    same_session: ExecutionSummary[];
    more_in_run_or_session: boolean;
  };
}

const RELATED_LIMIT = 20;
/** Related executions are looked for this many hours either side of the traced one. */
const RELATED_SPAN_HOURS = 24;

const parse = (text: unknown): unknown => (typeof text === 'string' ? JSON.parse(text) : (text ?? null));

/**
 * One execution, its steps in order, and its neighbours in the same agent run or session.
 * The steps are read on a second connection while the execution and its neighbours are read on
 * the first, so a trace costs the longer of the two paths, not their sum.
 */
export async function traceExecution(read: Reader, executionId: string): Promise<ExecutionTrace> {
  const stepsRead = read((db) =>
    db.all<Record<string, unknown>>(
      `SELECT step_index, name, connector, operation, status, iso(started_at) AS started_at, iso(ended_at) AS ended_at,
              CASE WHEN ended_at >= started_at THEN (epoch_ms(ended_at) - epoch_ms(started_at))::DOUBLE END AS duration_ms,
              tasks, auth_mode, auth_identity, error_type, error_layer, error_message, input, output
       FROM steps WHERE execution_id = $id ORDER BY step_index`,
      { id: executionId },
    ),
  );
  // Settled now, awaited below: an unknown id must not leave the steps read rejecting unobserved.
  stepsRead.catch(() => undefined);
  const { row, related } = await read((db) => executionAndNeighbours(db, executionId));
  const steps = await stepsRead;
  const sameRun = row.workflow_run_id === null ? [] : related.filter((e) => e.workflow_run_id === row.workflow_run_id);
  const sameSession = row.session_id === null ? [] : related.filter((e) => e.session_id === row.session_id);


  const { user_email, user_name, error_message, input, output, attributes, source, ...summary } = row;
  const traceSteps: TraceStep[] = steps.map((s) => ({
    index: s.step_index as number,
    name: s.name as string,
    connector: s.connector as string | null,
    operation: s.operation as string | null,
    status: s.status as string,
    started_at: s.started_at as string | null,
    ended_at: s.ended_at as string | null,
    duration_ms: s.duration_ms as number | null,
    tasks: s.tasks as number | null,
    auth: { mode: s.auth_mode as string | null, identity: s.auth_identity as string | null },
    error: s.error_type || s.error_layer || s.error_message
      ? { type: s.error_type as string | null, layer: s.error_layer as string | null, message: s.error_message as string | null }
      : null,
    input: parse(s.input),
    output: parse(s.output),
  }));
  const failing = traceSteps.find((s) => s.status === 'failed' || s.status === 'terminated');
  return {
    execution: {
      ...(summary as unknown as ExecutionSummary),
      user_email: user_email as string | null,
      user_name: user_name as string | null,
      error: summary.error_type || summary.error_layer || error_message
        ? { type: summary.error_type as string | null, layer: summary.error_layer as string | null, message: error_message as string | null }
        : null,
      input: parse(input),
      output: parse(output),
      attributes: parse(attributes) as Record<string, unknown> | null,
      source: source as string,
    },
    steps: traceSteps,
    failing_step: failing ? failing.index : null,
    related: {
      same_workflow_run: sameRun.slice(0, RELATED_LIMIT),
      same_session: sameSession.slice(0, RELATED_LIMIT),
      more_in_run_or_session: sameRun.length > RELATED_LIMIT || sameSession.length > RELATED_LIMIT,
    },
  };
}

/** The execution row, then its neighbours: the second query needs the first one's time and ids. */
async function executionAndNeighbours(db: Db, executionId: string) {
  const row = await db.one<Record<string, unknown>>(
    `SELECT ${SUMMARY_COLUMNS}, user_email, user_name, error_message, input, output, attributes, source
     FROM executions WHERE execution_id = $id`,
    { id: executionId },
  );
  if (!row) {
    throw new NotFoundError(
      `No execution has id ${JSON.stringify(executionId)}. Ids look like the execution_id field of the logs; find one with list_executions (filter by user, tool, status or window) or failure_report.`,
    );
  }
  // An agent run or a session lives for hours, not weeks: looking a day either side lets
  // DuckDB skip every row group outside it (zone maps on started_at). One scan serves both.
  const related =
    row.workflow_run_id === null && row.session_id === null
      ? []
      : await db.all<ExecutionSummary>(
          `SELECT ${SUMMARY_COLUMNS} FROM executions
           WHERE started_at BETWEEN CAST($at AS TIMESTAMP) - INTERVAL ${RELATED_SPAN_HOURS} HOUR
                                AND CAST($at AS TIMESTAMP) + INTERVAL ${RELATED_SPAN_HOURS} HOUR
             AND (agent_workflow_run_id = $run OR agent_session_id = $session) AND execution_id <> $id
           ORDER BY started_at LIMIT ${4 * RELATED_LIMIT}`,
          {
            run: (row.workflow_run_id as string | null) ?? '',
            session: (row.session_id as string | null) ?? '',
            id: executionId,
            at: sqlTime(row.started_at as string),
          },
        );
  return { row, related };
}
