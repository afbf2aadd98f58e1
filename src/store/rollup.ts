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
export const ROLLUP_SOURCE_COLUMNS = ['started_at', ...ROLLUP_DIMENSIONS, 'tasks', 'cost_usd'] as const;

const DIMS = ROLLUP_DIMENSIONS.join(', ');
const DIMS_HASH = `md5_number(to_json([${ROLLUP_DIMENSIONS.map((d) => (d === 'via_mcp' ? `${d}::VARCHAR` : d)).join(', ')}]))`;

export const CREATE_ROLLUP_SQL = `
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

/**
 * Counts of `source` (rows with the executions columns and a `sign`: 1 to add, -1 to take out)
 * per hour and dimensions, as hourly_usage rows.
 */
export function rollupDeltaSql(source: string): string {
  // The hash is computed per group, after counting: a few thousand per batch, not one per row.
  return `
   SELECT hour, ${DIMS_HASH} AS dims_hash, ${DIMS}, executions, tasks, cost_usd, without_cost
   FROM (
     SELECT date_trunc('hour', started_at) AS hour, ${DIMS},
            sum(sign)::BIGINT AS executions, sum(sign * tasks)::DOUBLE AS tasks,
            sum(sign * cost_usd)::DOUBLE AS cost_usd, coalesce(sum(sign) FILTER (cost_usd IS NULL), 0)::BIGINT AS without_cost
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
     without_cost = hourly_usage.without_cost + excluded.without_cost`;
}

export const BACKFILL_ROLLUP_SQL = `INSERT INTO hourly_usage ${rollupDeltaSql(`SELECT ${ROLLUP_SOURCE_COLUMNS.join(', ')}, 1 AS sign FROM executions`)} ORDER BY hour`;
