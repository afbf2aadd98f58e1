import { NotFoundError } from '../errors.js';
import type { Db, Params, Reader } from '../store/store.js';
import { SUMMARY_COLUMNS, type ExecutionSummary } from './executions.js';

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

/**
 * One execution, its steps in order, and its neighbours in the same agent run or session.
 * Independent reads run side by side on the read connections: the steps while the execution is
 * read, then the run's and the session's neighbours at once. A trace costs its longest path.
 */
export async function traceExecution(read: Reader, executionId: string): Promise<ExecutionTrace> {
  const stepsRead = read((db) =>
    db.all<Record<string, unknown>>(
      `SELECT step_index, name, connector, operation, status, iso(started_at) AS started_at, iso(ended_at) AS ended_at,
              CASE WHEN ended_at >= started_at THEN (epoch_ms(ended_at) - epoch_ms(started_at))::DOUBLE END AS duration_ms,
              tasks, auth_mode, auth_identity, error_type, error_layer, error_message, input, output
       FROM steps WHERE execution_key = execution_key_of($id)
       -- The first steps, and the first failing one wherever it is: it is what a trace is read for.
       QUALIFY row_number() OVER (ORDER BY step_index) <= $cap
            OR (status IN ('failed', 'terminated') AND row_number() OVER (PARTITION BY status IN ('failed', 'terminated') ORDER BY step_index) = 1)
       ORDER BY step_index`,
      { id: executionId, cap: STEP_CAP },
    ),
  );
  // Settled now, awaited below: an unknown id must not leave the steps read rejecting unobserved.
  stepsRead.catch(() => undefined);
  const { row, groups } = await read((db) => executionAndGroups(db, executionId));
  const [sameRun = [], sameSession = []] = await Promise.all(
    (['run', 'session'] as const).map((kind) => {
      const group = groups.find((g) => g.kind === kind);
      return group ? read((db) => neighbours(db, group, executionId)) : undefined;
    }),
  );
  const steps = await stepsRead;

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

interface Group {
  kind: 'run' | 'session';
  column: 'agent_workflow_run_id' | 'agent_session_id';
  id: string;
  /** The recorded span of the group's start times (agent_spans), as SQL timestamps. */
  first: string;
  last: string;
}

/** The execution row and the spans of its run and session (the neighbour reads need both). */
async function executionAndGroups(db: Db, executionId: string): Promise<{ row: Record<string, unknown>; groups: Group[] }> {
  const row = await db.one<Record<string, unknown>>(
    `SELECT ${SUMMARY_COLUMNS}, user_email, user_name, error_message, input, output, attributes, source
     FROM executions WHERE execution_key = execution_key_of($id)`,
    { id: executionId },
  );
  if (!row) {
    throw new NotFoundError(
      `No execution has id ${JSON.stringify(executionId)}. Ids look like the execution_id field of the logs; find one with list_executions (filter by user, tool, status or window) or failure_report.`,
    );
  }
  const wanted = [
    { kind: 'run' as const, column: 'agent_workflow_run_id' as const, id: row.workflow_run_id as string | null },
    { kind: 'session' as const, column: 'agent_session_id' as const, id: row.session_id as string | null },
  ].filter((g) => g.id !== null);
  if (wanted.length === 0) return { row, groups: [] };
  const params: Params = Object.fromEntries(wanted.map((g, i) => [`key${i}`, `${g.kind}:${g.id}`]));
  const spans = await db.all<{ key: string; first: string; last: string }>(
    `SELECT key, strftime(first_started_at, '%Y-%m-%d %H:%M:%S.%f') AS first, strftime(last_started_at, '%Y-%m-%d %H:%M:%S.%f') AS last
     FROM agent_spans WHERE key IN (${wanted.map((_, i) => `$key${i}`).join(', ')})`,
    params,
  );
  const groups = wanted.flatMap((g) => {
    const span = spans.find((s) => s.key === `${g.kind}:${g.id}`);
    return span ? [{ ...g, id: g.id!, first: span.first, last: span.last }] : [];
  });
  return { row, groups };
}

/** A time as DuckDB prints it, checked before it is written into a query as a literal. */
const SQL_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/;

/**
 * The first executions of a run or session, the traced one left out, and one more than shown
 * (it tells whether there are more). Only the group's span is read, so DuckDB skips every row
 * group outside it, and the filter is one equality it pushes into the scan.
 */
async function neighbours(db: Db, group: Group, executionId: string): Promise<ExecutionSummary[]> {
  // The span's ends are written as literals, not bound: DuckDB prunes row groups by literal bounds
  // and not by bound values. They come from agent_spans, formatted by DuckDB, and are checked.
  if (!SQL_TIMESTAMP.test(group.first) || !SQL_TIMESTAMP.test(group.last)) {
    throw new Error(`unexpected span bounds for ${group.kind} ${group.id}: ${group.first} .. ${group.last}`);
  }
  // DuckDB would fetch these few rows in a second pass over the whole table by row id ("late
  // materialization"), which costs more than reading them within the group's span.
  await db.run('SET late_materialization_max_rows = 0');
  try {
    const rows = await db.all<ExecutionSummary>(
      // Ordered on the stored time, formatted after the limit: ordering on the formatted text
      // would format every member of the group first.
      `SELECT ${SUMMARY_COLUMNS} FROM (
         SELECT * FROM executions
         WHERE started_at BETWEEN TIMESTAMP '${group.first}' AND TIMESTAMP '${group.last}' AND ${group.column} = $id
         ORDER BY started_at LIMIT ${RELATED_LIMIT + 2})`,
      { id: group.id },
    );
    return rows.filter((r) => r.execution_id !== executionId);
  } finally {
    await db.run('RESET late_materialization_max_rows');
  }
}
