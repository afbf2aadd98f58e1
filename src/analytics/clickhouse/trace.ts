import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import { epochMicros } from '../../store/clickhouse/write.js';
import type { StepRow, TraceQueries, TraceRow } from '../trace.js';
import { summaryOf, SUMMARY_COLUMNS } from './executions.js';
import { countLateSteps, readLateSteps, withLateSteps } from '../../store/clickhouse/late-steps.js';
import { ChQuery, isoFromMicros } from './sql.js';

type Json = Record<string, any>;

const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));
const time = (text: unknown) => (typeof text === 'string' ? epochMicros(text) : null);

/** A step of an execution's stored list (the format's fields) as the row DuckDB's steps table gives. */
function stepRow(s: Json): StepRow {
  const started = time(s.started_at);
  const ended = time(s.ended_at);
  return {
    step_index: s.index,
    name: s.name,
    connector: s.connector ?? null,
    operation: s.operation ?? null,
    status: s.status,
    started_at: started === null ? null : isoFromMicros(Number(started)),
    ended_at: ended === null ? null : isoFromMicros(Number(ended)),
    duration_ms: started !== null && ended !== null && ended >= started ? Number(ended / 1000n - started / 1000n) : null,
    tasks: s.tasks ?? null,
    auth_mode: s.auth?.mode ?? null,
    auth_identity: s.auth?.identity ?? null,
    error_type: s.error?.type ?? null,
    error_layer: s.error?.layer ?? null,
    error_message: s.error?.message ?? null,
    input: json(s.input),
    output: json(s.output),
  };
}

/** Steps live in their execution's row (schema.ts): one point read by the primary key. */
export function clickhouseTraceQueries(ch: ClickHouseDb): TraceQueries {
  return {
    async execution(id) {
      const q = new ChQuery(ch);
      // Its late steps' spans in the same read (a scalar subquery), and the spans its own steps name.
      const row = await q.one<Json>(
        `SELECT ${SUMMARY_COLUMNS}, user_email, user_name, error_message, input, output, attributes, source,
                (SELECT groupUniqArray(span_id) FROM ${ch.t('late_steps')} WHERE execution_id = ${q.value(id, 'String')}) AS late_spans,
                if(empty(late_spans), [], arrayFilter(s -> s != '', arrayMap(s -> JSONExtractString(s, 'span_id'), JSONExtractArrayRaw(steps)))) AS taken_spans
         FROM ${ch.t('executions')} FINAL WHERE execution_id = ${q.value(id, 'String')}`,
      );
      if (!row) return undefined;
      const taken = new Set<string>(row.taken_spans);
      const summary = { ...summaryOf(row), step_count: row.step_count + (row.late_spans as string[]).filter((s) => !taken.has(s)).length };
      return {
        ...summary,
        user_email: row.user_email,
        user_name: row.user_name,
        error_message: row.error_message,
        input: row.input,
        output: row.output,
        attributes: row.attributes,
        source: row.source,
      } satisfies TraceRow;
    },
    async steps(id, cap) {
      const q = new ChQuery(ch);
      const [row, late] = await Promise.all([
        q.one<{ steps: string }>(`SELECT steps FROM ${ch.t('executions')} FINAL WHERE execution_id = ${q.value(id, 'String')}`),
        readLateSteps(ch, [id]),
      ]);
      const steps = withLateSteps((JSON.parse(row?.steps ?? '[]') as Json[]).sort((a, b) => a.index - b.index), late.get(id));
      const failing = steps.findIndex((s) => s.status === 'failed' || s.status === 'terminated');
      return steps.filter((_, i) => i < cap || i === failing).map(stepRow);
    },
    async neighbours(kind, groupId, executionId, limit) {
      const q = new ChQuery(ch);
      const column = kind === 'run' ? 'agent_workflow_run_id' : 'agent_session_id';
      const rows = await q.all<Json>(
        `SELECT ${SUMMARY_COLUMNS} FROM ${ch.t('executions')} FINAL WHERE ${column} = ${q.value(groupId, 'String')}
         ORDER BY started_at, execution_id LIMIT ${q.value(limit, 'UInt32')}`,
      );
      return countLateSteps(ch, rows.map(summaryOf).filter((r) => r.execution_id !== executionId));
    },
  };
}
