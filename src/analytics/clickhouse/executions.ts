import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import type { ExecutionQueries, ExecutionScope, ExecutionSummary } from '../executions.js';
import type { Filters } from '../filters.js';
import type { TimeRange } from '../time-range.js';
import { countLateSteps } from '../../store/clickhouse/late-steps.js';
import { ChQuery, isoFromMicros } from './sql.js';

/** An execution's metadata; times as microseconds, written as the answers write them by summaryOf. */
export const SUMMARY_COLUMNS = `
  execution_id, toUnixTimestamp64Micro(started_at) AS started_us, toUnixTimestamp64Micro(ended_at) AS ended_us, duration_ms, status,
  tool_name AS tool, tool_kind, tool_server AS server, user_id, user_team AS team, agent_client AS client,
  agent_session_id AS session_id, agent_workflow_run_id AS workflow_run_id, environment, via_mcp, tasks,
  cost_usd, error_type, error_layer, step_count`;

/** A row of SUMMARY_COLUMNS as ExecutionSummary, in its order. */
export function summaryOf(row: Record<string, any>): ExecutionSummary {
  return {
    execution_id: row.execution_id,
    started_at: isoFromMicros(row.started_us)!,
    ended_at: isoFromMicros(row.ended_us),
    duration_ms: row.duration_ms,
    status: row.status,
    tool: row.tool,
    tool_kind: row.tool_kind,
    server: row.server,
    user_id: row.user_id,
    team: row.team,
    client: row.client,
    session_id: row.session_id,
    workflow_run_id: row.workflow_run_id,
    environment: row.environment,
    via_mcp: row.via_mcp,
    tasks: row.tasks,
    cost_usd: row.cost_usd,
    error_type: row.error_type,
    error_layer: row.error_layer,
    step_count: row.step_count,
  };
}

function scoped(q: ChQuery, range: TimeRange, filters: Filters, scope: ExecutionScope): string {
  let where = q.executions(range, filters);
  if (scope.workflowRunId !== undefined) where += ` AND agent_workflow_run_id = ${q.value(scope.workflowRunId, 'String')}`;
  if (scope.sessionId !== undefined) where += ` AND agent_session_id = ${q.value(scope.sessionId, 'String')}`;
  return where;
}

export function clickhouseExecutionQueries(ch: ClickHouseDb): ExecutionQueries {
  return {
    async count(range, filters, scope) {
      const q = new ChQuery(ch);
      return (await q.one<{ n: number }>(`SELECT count() AS n FROM ${scoped(q, range, filters, scope)}`))?.n ?? 0;
    },
    async page(range, filters, scope, after, limit) {
      const q = new ChQuery(ch);
      let where = scoped(q, range, filters, scope);
      if (after) where += ` AND (started_at, execution_id) < (${q.time(new Date(after.t))}, ${q.value(after.id, 'String')})`;
      const rows = await q.all<Record<string, any>>(
        `SELECT ${SUMMARY_COLUMNS} FROM ${where} ORDER BY started_at DESC, execution_id DESC LIMIT ${q.value(limit, 'UInt32')}`,
      );
      return countLateSteps(ch, rows.map(summaryOf));
    },
  };
}
