import { UserInputError } from '../../errors.js';
import type { Store } from '../store.js';
import type { ClickHouseDb } from './client.js';
import { markAllHours } from './rollup.js';
import { executionVersion } from './write.js';

/** Rows per read from DuckDB and per insert into ClickHouse. */
const COPY_ROWS = 100_000;

const TIME = (column: string) => `strftime(${column}, '%Y-%m-%d %H:%M:%S.%f')`;
const RFC3339 = (column: string) => `strftime(${column}, '%Y-%m-%dT%H:%M:%S.%fZ')`;

/** One chunk of executions by rowid, with their steps as the log format writes them (steps live in the execution's row in ClickHouse). */
// Literal bounds: DuckDB skips the row groups outside them, which it does not for bound parameters.
const chunkSql = (first: number, last: number) => `
  WITH chunk AS (SELECT * FROM executions WHERE rowid >= ${first} AND rowid < ${last}),
  stepped AS (
    SELECT execution_key, to_json(list({
      'index': step_index, 'name': name, 'status': status, 'connector': connector, 'operation': operation,
      'started_at': ${RFC3339('started_at')}, 'ended_at': ${RFC3339('ended_at')}, 'tasks': tasks,
      'auth': {'mode': auth_mode, 'identity': auth_identity}, 'input': input, 'output': output,
      'error': CASE WHEN error_type IS NOT NULL OR error_message IS NOT NULL OR error_layer IS NOT NULL
                    THEN {'type': error_type, 'message': error_message, 'layer': error_layer} END
    } ORDER BY step_index))::VARCHAR AS steps
    FROM steps WHERE execution_key IN (SELECT execution_key FROM chunk WHERE step_count > 0)
    GROUP BY execution_key
  )
  SELECT c.execution_id, ${TIME('c.started_at')} AS started_at, ${TIME('c.ended_at')} AS ended_at, ${RFC3339('c.ended_at')} AS ended_rfc,
         c.duration_ms, c.status, c.tool_name, c.tool_kind, c.tool_server, c.user_id, c.user_email, c.user_name, c.user_team,
         c.agent_client, c.agent_session_id, c.agent_workflow_run_id, c.environment, c.via_mcp, c.tasks, c.tasks_given, c.cost_usd,
         c.input::VARCHAR AS input, c.output::VARCHAR AS output, c.error_type, c.error_message, c.error_layer,
         c.attributes::VARCHAR AS attributes, coalesce(s.steps, '[]') AS steps, c.step_count, c.failing_connector, c.source,
         ${TIME('c.ingested_at')} AS ingested_at
  FROM chunk c LEFT JOIN stepped s USING (execution_key)`;

export interface CopyReport {
  executions: { duckdb: number; clickhouse: number };
  quarantine: { duckdb: number; clickhouse: number };
  catalog_tools: number;
  /** Tool calls counted from OTLP metrics. */
  metric_calls: { duckdb: number; clickhouse: number };
  by_status: Record<string, { duckdb: number; clickhouse: number }>;
}

/**
 * Copies a DuckDB database's executions (with their steps), quarantine, catalog and metric counts into an empty
 * ClickHouse store, then checks the counts on both sides, per status too. The copy is idempotent
 * (a row copied twice is one version), so a copy cut short can simply run again.
 */
export async function copyFromDuckDb(from: Store, to: ClickHouseDb, options: { onProgress?: (copied: number, total: number) => void; allowNonEmpty?: boolean } = {}): Promise<CopyReport> {
  const present = await to.one<{ n: number }>(`SELECT count() AS n FROM ${to.t('executions')}`);
  if ((present?.n ?? 0) > 0 && !options.allowNonEmpty) {
    throw new UserInputError(`${to.where} already holds ${present!.n} execution rows: migrate copies into an empty ClickHouse database, so that the counts can prove the copy. Name another database in the URL.`);
  }
  const last = await from.read((db) => db.one<{ n: number | null; total: number }>('SELECT max(rowid)::DOUBLE AS n, count(*)::DOUBLE AS total FROM executions'));
  let copied = 0;
  for (let first = 0; last?.n != null && first <= last.n; first += COPY_ROWS) {
    const rows = await from.read((db) => db.all<Record<string, any>>(chunkSql(first, first + COPY_ROWS)));
    await to.insert(
      'executions',
      rows.map(({ ended_rfc, ...r }) => ({ ...r, version: executionVersion(r.status, ended_rfc ?? undefined, JSON.stringify(r)).toString() })),
    );
    copied += rows.length;
    options.onProgress?.(copied, last.total);
  }
  // The copy bypassed the writer, which marks the hours the rollup must count.
  await markAllHours(to);
  const quarantine = await from.read((db) => db.all<Record<string, unknown>>(`SELECT source, line_no, reason, raw, raw_md5, ${TIME('received_at')} AS quarantined_at FROM quarantine`));
  for (let i = 0; i < quarantine.length; i += COPY_ROWS) await to.insert('quarantine', quarantine.slice(i, i + COPY_ROWS));
  const listed = await from.read((db) => db.all<{ name: string; server: string; kind: string }>('SELECT name, server, kind FROM tools WHERE from_catalog'));
  const now = new Date().toISOString();
  await to.insert('catalog_tools', listed.map((t) => ({ ...t, listed_at: now })));
  // Tool list versions become the sightings they were made from: one at each version's first and
  // last sighting, which is what ClickHouse derives the versions from.
  const sightings = <T extends { first: string; last: string }>(rows: T[]) => rows.flatMap(({ first, last, ...r }) => (first === last ? [{ ...r, seen_at: first }] : [{ ...r, seen_at: first }, { ...r, seen_at: last }]));
  const [lists, definitions] = await Promise.all([
    from.read((db) => db.all<{ server: string; tools_sha256: string; tool_count: number; first: string; last: string }>(`SELECT server, tools_sha256, tool_count, ${TIME('first_seen')} AS first, ${TIME('last_seen')} AS last FROM server_tool_lists`)),
    from.read((db) => db.all<{ server: string; name: string; description: string | null; input_schema_sha256: string | null; first: string; last: string }>(`SELECT server, name, description, input_schema_sha256, ${TIME('first_seen')} AS first, ${TIME('last_seen')} AS last FROM tool_definitions`)),
  ]);
  await to.insert('tool_list_sightings', sightings(lists));
  await to.insert('tool_definition_sightings', sightings(definitions));
  // DuckDB keeps metric counts as per-minute deltas: each row becomes a delta point of its own
  // series (named by its row), which counts as it is. The series' last cumulative points are not
  // copied: a series that goes on reporting into ClickHouse counts its first point there whole.
  const minutes = await from.read((db) => db.all<Record<string, unknown>>(
    `SELECT 'duckdb-copy:' || rowid AS series, '0' AS start_ns, (epoch_us(minute) * 1000)::VARCHAR AS time_ns, false AS cumulative, ${TIME('minute')} AS minute,
            side, server, tool_name AS tool, failed, calls::DOUBLE AS count, duration_sum_ms AS sum_ms
     FROM mcp_metric_minutes`));
  for (let i = 0; i < minutes.length; i += COPY_ROWS) await to.insert('mcp_metric_points', minutes.slice(i, i + COPY_ROWS));

  const [duckStatus, houseStatus, duckQuarantine, houseQuarantine, duckCalls, houseCalls] = await Promise.all([
    from.read((db) => db.all<{ status: string; n: number }>('SELECT status, count(*)::DOUBLE AS n FROM executions GROUP BY status')),
    to.all<{ status: string; n: number }>(`SELECT status, count() AS n FROM ${to.t('executions')} FINAL GROUP BY status`),
    from.read((db) => db.one<{ n: number }>('SELECT count(*)::DOUBLE AS n FROM quarantine')),
    to.one<{ n: number }>(`SELECT count() AS n FROM ${to.t('quarantine')} FINAL`),
    from.read((db) => db.one<{ n: number }>('SELECT coalesce(sum(calls), 0)::DOUBLE AS n FROM mcp_metric_minutes')),
    to.one<{ n: number }>(`SELECT sum(count) AS n FROM ${to.t('mcp_metric_points')} FINAL WHERE startsWith(series, 'duckdb-copy:')`),
  ]);
  const by_status: CopyReport['by_status'] = {};
  for (const r of duckStatus) by_status[r.status] = { duckdb: r.n, clickhouse: 0 };
  for (const r of houseStatus) by_status[r.status] = { duckdb: by_status[r.status]?.duckdb ?? 0, clickhouse: r.n };
  const sum = (rows: Array<{ n: number }>) => rows.reduce((a, r) => a + r.n, 0);
  return {
    executions: { duckdb: sum(duckStatus), clickhouse: sum(houseStatus) },
    quarantine: { duckdb: duckQuarantine?.n ?? 0, clickhouse: houseQuarantine?.n ?? 0 },
    catalog_tools: listed.length,
    metric_calls: { duckdb: duckCalls?.n ?? 0, clickhouse: houseCalls?.n ?? 0 },
    by_status,
  };
}

/** Whether every count matched. */
export function copyVerified(report: CopyReport): boolean {
  return report.executions.duckdb === report.executions.clickhouse
    && report.quarantine.duckdb === report.quarantine.clickhouse
    && report.metric_calls.duckdb === report.metric_calls.clickhouse
    && Object.values(report.by_status).every((s) => s.duckdb === s.clickhouse);
}
