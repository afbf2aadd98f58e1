/**
 * hourly_usage: executions counted per hour and per combination of the dimensions every fleet
 * question filters or groups by. The windowed tools (usage_summary, who_drove_spike,
 * cost_by_user/tool, unused_tools) read it instead of every execution: at 10M executions over
 * 60 days it holds about 12x fewer rows. The merge keeps it exact: a new execution adds itself
 * to its hour, a replaced one is taken out of its old hour before the new version is added.
 *
 * Rows are keyed by (hour, dims_hash): the hash of the dimension values, NULLs included, so that
 * NULL and '' stay different values without a sentinel, and the key's index stays small.
 */

/** The dimension columns, in executions and in hourly_usage alike. */
export const ROLLUP_DIMENSIONS = [
  'tool_name', 'tool_server', 'tool_kind', 'user_id', 'user_team', 'agent_client', 'environment', 'via_mcp', 'status',
] as const;

/** What a delta is computed from: the dimensions, the time and the summed measures. */
export const ROLLUP_SOURCE_COLUMNS = ['started_at', ...ROLLUP_DIMENSIONS, 'tasks', 'tasks_given', 'cost_usd'] as const;

const DIMS = ROLLUP_DIMENSIONS.join(', ');
const DIMS_HASH = `md5_number(to_json([${ROLLUP_DIMENSIONS.map((d) => (d === 'via_mcp' ? `${d}::VARCHAR` : d)).join(', ')}]))`;

/**
 * hourly_usage as migration 7 created it, and its backfill as it ran then: a migration that has
 * shipped never changes, so these stay as they were when later migrations add columns.
 */
export const CREATE_ROLLUP_SQL_V7 = `
  CREATE TABLE hourly_usage (
    hour TIMESTAMP NOT NULL,
    dims_hash UHUGEINT NOT NULL,
    tool_name VARCHAR NOT NULL,
    tool_server VARCHAR,
    tool_kind VARCHAR NOT NULL,
    user_id VARCHAR NOT NULL,
    user_team VARCHAR,
    agent_client VARCHAR,
    environment VARCHAR,
    via_mcp BOOLEAN NOT NULL,
    status VARCHAR NOT NULL,
    executions BIGINT NOT NULL,
    tasks DOUBLE NOT NULL,
    cost_usd DOUBLE,
    without_cost BIGINT NOT NULL,
    PRIMARY KEY (hour, dims_hash)
  )`;

export const BACKFILL_ROLLUP_SQL_V7 = `INSERT INTO hourly_usage
   SELECT hour, ${DIMS_HASH} AS dims_hash, ${DIMS}, executions, tasks, cost_usd, without_cost
   FROM (
     SELECT date_trunc('hour', started_at) AS hour, ${DIMS},
            count(*)::BIGINT AS executions, sum(tasks)::DOUBLE AS tasks,
            sum(cost_usd)::DOUBLE AS cost_usd, count(*) FILTER (cost_usd IS NULL)::BIGINT AS without_cost
     FROM executions
     GROUP BY ALL
   ) ORDER BY hour`;

/**
 * Migration 9: whether an execution's record stated its tasks (NULL for executions stored before:
 * unknown, never counted as defaulted), and per hour how many executions cost the default.
 */
export const ADD_TASKS_GIVEN_SQL = `
  ALTER TABLE executions ADD COLUMN tasks_given BOOLEAN;
  ALTER TABLE hourly_usage ADD COLUMN tasks_defaulted BIGINT`;

/**
 * Counts of `source` (rows with the executions columns and a `sign`: 1 to add, -1 to take out)
 * per hour and dimensions, as hourly_usage rows (in its column order).
 */
export function rollupDeltaSql(source: string): string {
  // The hash is computed per group, after counting: a few thousand per batch, not one per row.
  return `
   SELECT hour, ${DIMS_HASH} AS dims_hash, ${DIMS}, executions, tasks, cost_usd, without_cost, tasks_defaulted
   FROM (
     SELECT date_trunc('hour', started_at) AS hour, ${DIMS},
            sum(sign)::BIGINT AS executions, sum(sign * tasks)::DOUBLE AS tasks,
            sum(sign * cost_usd)::DOUBLE AS cost_usd, coalesce(sum(sign) FILTER (cost_usd IS NULL), 0)::BIGINT AS without_cost,
            coalesce(sum(sign) FILTER (tasks_given = false), 0)::BIGINT AS tasks_defaulted
     FROM (${source}) AS changes
     GROUP BY ALL
   )`;
}

/** Adds delta rows into hourly_usage; a NULL cost on either side leaves the other. */
export function upsertRollupSql(deltas: string): string {
  return `
   INSERT INTO hourly_usage ${deltas}
   ON CONFLICT (hour, dims_hash) DO UPDATE SET
     executions = hourly_usage.executions + excluded.executions,
     tasks = hourly_usage.tasks + excluded.tasks,
     cost_usd = CASE WHEN excluded.cost_usd IS NULL THEN hourly_usage.cost_usd
                     WHEN hourly_usage.cost_usd IS NULL THEN excluded.cost_usd
                     ELSE hourly_usage.cost_usd + excluded.cost_usd END,
     without_cost = hourly_usage.without_cost + excluded.without_cost,
     tasks_defaulted = coalesce(hourly_usage.tasks_defaulted, 0) + excluded.tasks_defaulted`;
}
