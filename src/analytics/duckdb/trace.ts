import type { Reader } from '../../store/store.js';
import type { ExecutionSummary } from '../executions.js';
import type { StepRow, TraceQueries, TraceRow } from '../trace.js';
import { SUMMARY_COLUMNS } from './executions.js';

/** A time as DuckDB prints it, checked before it is written into a query as a literal. */
const SQL_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/;

export function duckdbTraceQueries(read: Reader): TraceQueries {
  return {
    execution: (id) =>
      read((db) =>
        db.one<TraceRow>(
          `SELECT ${SUMMARY_COLUMNS}, user_email, user_name, error_message, input, output, attributes, source
           FROM executions WHERE execution_key = execution_key_of($id)`,
          { id },
        ),
      ),
    steps: (id, cap) =>
      read((db) =>
        db.all<StepRow>(
          `SELECT step_index, name, connector, operation, status, iso(started_at) AS started_at, iso(ended_at) AS ended_at,
                  CASE WHEN ended_at >= started_at THEN (epoch_ms(ended_at) - epoch_ms(started_at))::DOUBLE END AS duration_ms,
                  tasks, auth_mode, auth_identity, error_type, error_layer, error_message, input, output
           FROM steps WHERE execution_key = execution_key_of($id)
           -- The first steps, and the first failing one wherever it is: it is what a trace is read for.
           QUALIFY row_number() OVER (ORDER BY step_index) <= $cap
                OR (status IN ('failed', 'terminated') AND row_number() OVER (PARTITION BY status IN ('failed', 'terminated') ORDER BY step_index) = 1)
           ORDER BY step_index`,
          { id, cap },
        ),
      ),
    /**
     * Only the group's recorded span of start times (agent_spans) is read, so DuckDB skips every
     * row group outside it, and the filter is one equality it pushes into the scan.
     */
    neighbours: (kind, groupId, executionId, limit) =>
      read(async (db) => {
        const span = await db.one<{ first: string; last: string }>(
          `SELECT strftime(first_started_at, '%Y-%m-%d %H:%M:%S.%f') AS first, strftime(last_started_at, '%Y-%m-%d %H:%M:%S.%f') AS last
           FROM agent_spans WHERE key = $key`,
          { key: `${kind}:${groupId}` },
        );
        if (!span) return [];
        // The span's ends are written as literals, not bound: DuckDB prunes row groups by literal bounds
        // and not by bound values. They come from agent_spans, formatted by DuckDB, and are checked.
        if (!SQL_TIMESTAMP.test(span.first) || !SQL_TIMESTAMP.test(span.last)) {
          throw new Error(`unexpected span bounds for ${kind} ${groupId}: ${span.first} .. ${span.last}`);
        }
        const column = kind === 'run' ? 'agent_workflow_run_id' : 'agent_session_id';
        // DuckDB would fetch these few rows in a second pass over the whole table by row id ("late
        // materialization"), which costs more than reading them within the group's span.
        await db.run('SET late_materialization_max_rows = 0');
        try {
          const rows = await db.all<ExecutionSummary>(
            // Ordered on the stored time, formatted after the limit: ordering on the formatted text
            // would format every member of the group first.
            `SELECT ${SUMMARY_COLUMNS} FROM (
               SELECT * FROM executions
               WHERE started_at BETWEEN TIMESTAMP '${span.first}' AND TIMESTAMP '${span.last}' AND ${column} = $id
               ORDER BY started_at, execution_id LIMIT ${Number(limit)})
             ORDER BY started_at, execution_id`,
            { id: groupId },
          );
          return rows.filter((r) => r.execution_id !== executionId);
        } finally {
          await db.run('RESET late_materialization_max_rows');
        }
      }),
  };
}
