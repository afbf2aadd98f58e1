import type { Params, Reader } from '../../store/store.js';
import type { ExecutionQueries, ExecutionScope, ExecutionSummary } from '../executions.js';
import { whereClause, type Filters } from '../filters.js';
import { sqlTime, type TimeRange } from '../time-range.js';

/** An execution's metadata, in ExecutionSummary's order. */
export const SUMMARY_COLUMNS = `
  execution_id, iso(started_at) AS started_at, iso(ended_at) AS ended_at, duration_ms, status,
  tool_name AS tool, tool_kind, tool_server AS server, user_id, user_team AS team, agent_client AS client,
  agent_session_id AS session_id, agent_workflow_run_id AS workflow_run_id, environment, via_mcp, tasks,
  cost_usd, error_type, error_layer, step_count`;

function scopedWhere(range: TimeRange, filters: Filters, scope: ExecutionScope, params: Params): string {
  let where = whereClause(range, filters, params);
  if (scope.workflowRunId !== undefined) {
    params.run = scope.workflowRunId;
    where += ' AND agent_workflow_run_id = $run';
  }
  if (scope.sessionId !== undefined) {
    params.session = scope.sessionId;
    where += ' AND agent_session_id = $session';
  }
  return where;
}

export function duckdbExecutionQueries(read: Reader): ExecutionQueries {
  return {
    async count(range, filters, scope) {
      const params: Params = {};
      const where = scopedWhere(range, filters, scope, params);
      const row = await read((db) => db.one<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM executions WHERE ${where}`, params));
      return row?.n ?? 0;
    },
    page(range, filters, scope, after, limit) {
      const params: Params = { limit };
      let where = scopedWhere(range, filters, scope, params);
      if (after) {
        params.c_t = sqlTime(after.t);
        params.c_id = after.id;
        where += ' AND (started_at, execution_id) < (CAST($c_t AS TIMESTAMP), $c_id)';
      }
      return read((db) =>
        db.all<ExecutionSummary>(`SELECT ${SUMMARY_COLUMNS} FROM executions WHERE ${where} ORDER BY started_at DESC, execution_id DESC LIMIT $limit`, params),
      );
    },
  };
}
