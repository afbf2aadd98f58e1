import { SchemaTooNewError } from '../../errors.js';
import type { ClickHouseDb } from './client.js';
import { hourOf } from './hour.js';

/**
 * The ClickHouse tables. Executions are one ReplacingMergeTree keyed by execution_id: every copy
 * of an execution (a repeat, `running` then final, the same id from two writers) is one row
 * version, and ClickHouse keeps the highest `version` (executionVersion encodes the log format's
 * rule). Steps live in the execution's row, so they are replaced with it. Queries read FINAL.
 *
 * Not partitioned by time, and no time in the key: a repeat whose started_at differs from its
 * stored copy's must still replace it, and replacement happens only within a partition and key.
 */
const tableEngine = (cluster: string | undefined, table: string, version?: string): string => {
  const args = version ? [version] : [];
  if (!cluster) return `ReplacingMergeTree(${args.join(', ')})`;
  return `ReplicatedReplacingMergeTree(${[`'/clickhouse/tables/{shard}/{database}/${table}'`, `'{replica}'`, ...args].join(', ')})`;
};

/** A plain (append-only) table's engine: Replicated in a cluster. */
const mergeTree = (cluster: string | undefined, table: string): string =>
  cluster ? `ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/${table}', '{replica}')` : 'MergeTree';

const onCluster = (cluster: string | undefined) => (cluster ? ` ON CLUSTER ${cluster}` : '');

/**
 * Each migration: idempotent DDL, so instances that start together may all run it. `startedAt`
 * is the server's time as the migration run began, a DateTime64(6) literal's text.
 */
export const CLICKHOUSE_MIGRATIONS: Array<(db: string, cluster: string | undefined, startedAt: string) => string[]> = [
  (db, cluster) => [
    `CREATE TABLE IF NOT EXISTS ${db}.executions${onCluster(cluster)} (
       execution_id String,
       started_at DateTime64(6, 'UTC'),
       ended_at Nullable(DateTime64(6, 'UTC')),
       duration_ms Nullable(Float64),
       status LowCardinality(String),
       tool_name LowCardinality(String),
       tool_kind LowCardinality(String),
       tool_server LowCardinality(Nullable(String)),
       user_id String,
       user_email Nullable(String),
       user_name Nullable(String),
       user_team LowCardinality(Nullable(String)),
       agent_client LowCardinality(Nullable(String)),
       agent_session_id Nullable(String),
       agent_workflow_run_id Nullable(String),
       environment LowCardinality(Nullable(String)),
       via_mcp Bool,
       tasks Float64,
       tasks_given Bool,
       cost_usd Nullable(Float64),
       input Nullable(String),
       output Nullable(String),
       error_type LowCardinality(Nullable(String)),
       error_message Nullable(String),
       error_layer LowCardinality(Nullable(String)),
       attributes Nullable(String),
       steps String,
       step_count UInt32,
       failing_connector LowCardinality(Nullable(String)),
       source String,
       ingested_at DateTime64(6, 'UTC'),
       version UInt64,
       -- Windows skip the granules outside them; pays where ids grow with time (counters, ULIDs,
       -- UUIDv7), not for random ids, whose granules each span every time.
       INDEX started_minmax started_at TYPE minmax GRANULARITY 1
     ) ENGINE = ${tableEngine(cluster, 'executions', 'version')}
     ORDER BY execution_id`,
    // A line quarantined twice (a file read again) is one row.
    `CREATE TABLE IF NOT EXISTS ${db}.quarantine${onCluster(cluster)} (
       source String,
       line_no UInt64,
       reason String,
       raw String,
       raw_md5 String,
       quarantined_at DateTime64(6, 'UTC')
     ) ENGINE = ${tableEngine(cluster, 'quarantine')}
     ORDER BY (source, line_no, raw_md5)`,
    // The audit log: append-only, a hash chain per instance (audit.ts).
    `CREATE TABLE IF NOT EXISTS ${db}.audit_events${onCluster(cluster)} (
       chain_id String,
       seq UInt64,
       at DateTime64(3, 'UTC'),
       actor String,
       role LowCardinality(String),
       action LowCardinality(String),
       target Nullable(String),
       reason Nullable(String),
       details Nullable(String),
       prev_hash String,
       hash String
     ) ENGINE = ${mergeTree(cluster, 'audit_events')}
     ORDER BY (chain_id, seq)`,
    // Tools a catalog file or a tool list named; the tools that ran are read from executions. Every
    // listing is kept: the first one's kind counts, as in DuckDB's catalog.
    `CREATE TABLE IF NOT EXISTS ${db}.catalog_tools${onCluster(cluster)} (
       name String,
       server String,
       kind LowCardinality(String),
       listed_at DateTime64(6, 'UTC')
     ) ENGINE = ${mergeTree(cluster, 'catalog_tools')}
     ORDER BY (name, server)`,
  ],
];

CLICKHOUSE_MIGRATIONS.push((db, cluster) => [
  // trace_execution's neighbours are one agent run or session: the bloom filters let it skip the
  // granules without that id instead of reading every execution.
  `ALTER TABLE ${db}.executions${onCluster(cluster)} ADD INDEX IF NOT EXISTS session_bloom agent_session_id TYPE bloom_filter GRANULARITY 1`,
  `ALTER TABLE ${db}.executions${onCluster(cluster)} ADD INDEX IF NOT EXISTS run_bloom agent_workflow_run_id TYPE bloom_filter GRANULARITY 1`,
  `ALTER TABLE ${db}.executions${onCluster(cluster)} MATERIALIZE INDEX session_bloom`,
  `ALTER TABLE ${db}.executions${onCluster(cluster)} MATERIALIZE INDEX run_bloom`,
]);

CLICKHOUSE_MIGRATIONS.push((db, cluster) => [
  // Tool lists as wrap saw servers answer tools/list: every sighting kept, the versions (a list or
  // a definition that differs from the one before it) derived when read (analytics/clickhouse/catalog.ts).
  `CREATE TABLE IF NOT EXISTS ${db}.tool_list_sightings${onCluster(cluster)} (
     server String, tools_sha256 String, tool_count UInt32, seen_at DateTime64(6, 'UTC')
   ) ENGINE = ${mergeTree(cluster, 'tool_list_sightings')} ORDER BY (server, seen_at)`,
  `CREATE TABLE IF NOT EXISTS ${db}.tool_definition_sightings${onCluster(cluster)} (
     server String, name String, description Nullable(String), input_schema_sha256 Nullable(String), seen_at DateTime64(6, 'UTC')
   ) ENGINE = ${mergeTree(cluster, 'tool_definition_sightings')} ORDER BY (server, name, seen_at)`,
]);

/**
 * A level of the rollup as migration 4 created it (rollup.ts ROLLUP_LEVELS): its rows, per unit
 * (`hour` or `day`) and the nine dimensions, and its registry, one row per unit and generation
 * with the generation's totals (the store's extent sums these). Frozen with the migration.
 */
const rollupLevelV4 = (db: string, cluster: string | undefined, rows: string, registry: string, unit: string): string[] => {
  return [
    `CREATE TABLE IF NOT EXISTS ${db}.${rows}${onCluster(cluster)} (
       ${unit} DateTime64(6, 'UTC'),
       generation UUID,
       computed_at DateTime64(6, 'UTC'),
       tool_name LowCardinality(String),
       tool_server LowCardinality(Nullable(String)),
       tool_kind LowCardinality(String),
       user_id LowCardinality(String),
       user_team LowCardinality(Nullable(String)),
       agent_client LowCardinality(Nullable(String)),
       environment LowCardinality(Nullable(String)),
       via_mcp Bool,
       status LowCardinality(String),
       n UInt64,
       s_tasks Float64,
       s_cost Nullable(Float64),
       n_no_cost UInt64,
       n_defaulted UInt64,
       first_at DateTime64(6, 'UTC'),
       last_at DateTime64(6, 'UTC')
     ) ENGINE = ${mergeTree(cluster, rows)}
     ORDER BY (${unit}, generation, tool_name, user_id)`,
    `CREATE TABLE IF NOT EXISTS ${db}.${registry}${onCluster(cluster)} (
       ${unit} DateTime64(6, 'UTC'), generation UUID, computed_at DateTime64(6, 'UTC'),
       n UInt64, first_at Nullable(DateTime64(6, 'UTC')), last_at Nullable(DateTime64(6, 'UTC'))
     ) ENGINE = ${mergeTree(cluster, registry)} ORDER BY (${unit}, computed_at)`,
  ];
};

CLICKHOUSE_MIGRATIONS.push((db, cluster) => [
  // The rollup (rollup.ts): hours marked by writers, hours and days recomputed whole from
  // executions FINAL into generations; readers use a unit's latest generation only while no mark is newer.
  ...rollupLevelV4(db, cluster, 'hourly_usage', 'rollup_hours', 'hour'),
  ...rollupLevelV4(db, cluster, 'daily_usage', 'rollup_days', 'day'),
  // Marks are stamped by the server's clock when they land (now64), the clock computed_at reads too.
  `CREATE TABLE IF NOT EXISTS ${db}.rollup_marks${onCluster(cluster)} (
     hour DateTime64(6, 'UTC'), marked_at DateTime64(6, 'UTC') DEFAULT now64(6)
   ) ENGINE = ${tableEngine(cluster, 'rollup_marks', 'marked_at')} ORDER BY hour`,
  // The executions stored before this version: every hour they fall in starts out to be computed.
  `INSERT INTO ${db}.rollup_marks (hour) SELECT DISTINCT ${hourOf('started_at')} FROM ${db}.executions`,
]);

CLICKHOUSE_MIGRATIONS.push((db, cluster) => [
  // Watched files' read positions, per instance (checkpoints.ts): each instance tails its own
  // host's files, which may share a path or even a first line with another host's.
  `CREATE TABLE IF NOT EXISTS ${db}.ingest_checkpoints${onCluster(cluster)} (
     instance String, fingerprint String, fingerprint_bytes UInt32, path String, byte_offset UInt64, line_no UInt64,
     saved_at DateTime64(6, 'UTC') DEFAULT now64(6)
   ) ENGINE = ${tableEngine(cluster, 'ingest_checkpoints', 'saved_at')} ORDER BY (instance, fingerprint)`,
]);

CLICKHOUSE_MIGRATIONS.push((db, cluster, startedAt) => {
  // New rows take the server's clock as they land; rows stored before, their own storage time (a
  // mutation, waited for). Until it has run, those rows read the default at read time, later than
  // the run's start; rows an instance that migrated first stored before this run began are earlier,
  // and kept. The rows the mutation reads the default for are a non-deterministic expression to a
  // replicated table, which refuses such a mutation unless told: every replica reaches the same rows.
  const storedAt = (table: string, from: string) => [
    `ALTER TABLE ${db}.${table}${onCluster(cluster)} ADD COLUMN IF NOT EXISTS stored_at DateTime64(6, 'UTC') DEFAULT now64(6)`,
    `ALTER TABLE ${db}.${table}${onCluster(cluster)} UPDATE stored_at = ${from} WHERE stored_at >= toDateTime64('${startedAt}', 6, 'UTC') SETTINGS mutations_sync = 2, allow_nondeterministic_mutations = 1`,
  ];
  return [
    // Leases (lease.ts): bids and holds, append-only, stamped by the server's clock as they land.
    `CREATE TABLE IF NOT EXISTS ${db}.leases${onCluster(cluster)} (
       name String, term UInt64, holder String, kind LowCardinality(String),
       at DateTime64(6, 'UTC') DEFAULT now64(6), expires_at Nullable(DateTime64(6, 'UTC'))
     ) ENGINE = ${mergeTree(cluster, 'leases')} ORDER BY (name, term, at)`,
    // The export's order of the executions and audit events (export.ts): when each row landed,
    // by the server's clock, so that rows of several writers fall in one order.
    ...storedAt('executions', 'ingested_at'),
    `ALTER TABLE ${db}.executions${onCluster(cluster)} ADD INDEX IF NOT EXISTS stored_minmax stored_at TYPE minmax GRANULARITY 1`,
    ...storedAt('audit_events', 'at'),
    // A sink's cursors, written only by the instance holding its lease.
    `CREATE TABLE IF NOT EXISTS ${db}.export_cursors${onCluster(cluster)} (
       sink String, stream LowCardinality(String), position String, updated_at DateTime64(6, 'UTC') DEFAULT now64(6)
     ) ENGINE = ${tableEngine(cluster, 'export_cursors', 'updated_at')} ORDER BY (sink, stream)`,
    // What each sink did, appended (a success with what it sent, or an error): its status is summed from these.
    `CREATE TABLE IF NOT EXISTS ${db}.export_log${onCluster(cluster)} (
       sink String, at DateTime64(6, 'UTC') DEFAULT now64(6), sent UInt64, error Nullable(String)
     ) ENGINE = ${mergeTree(cluster, 'export_log')} ORDER BY (sink, at)`,
  ];
});

CLICKHOUSE_MIGRATIONS.push((db, cluster) => {
  const versioned = (table: string, columns: string, key: string) =>
    `CREATE TABLE IF NOT EXISTS ${db}.${table}${onCluster(cluster)} (${columns}, deleted Bool DEFAULT false, version DateTime64(6, 'UTC') DEFAULT now64(6))
     ENGINE = ${tableEngine(cluster, table, 'version')} ORDER BY ${key}`;
  // Alerting's state (alerts.ts): a change is a new version of its key, a removal one marked deleted.
  return [
    versioned('alert_rules', `name String, kind LowCardinality(String), rule String, origin LowCardinality(String), updated_by String,
       created_at DateTime64(6, 'UTC'), updated_at DateTime64(6, 'UTC')`, 'name'),
    versioned('alert_ticks', `rule String, last_tick DateTime64(6, 'UTC'), last_error Nullable(String), duration_ms Float64`, 'rule'),
    versioned('alert_states', `fingerprint String, rule String, group_key String, state String, explanation Nullable(String), updated_at DateTime64(6, 'UTC')`, 'fingerprint'),
    versioned('alert_notifications', `id String, channel String, rule String, fingerprint String, event LowCardinality(String), event_at DateTime64(6, 'UTC'),
       message String, created_at DateTime64(6, 'UTC'), attempts UInt32, next_attempt_at Nullable(DateTime64(6, 'UTC')),
       delivered_at Nullable(DateTime64(6, 'UTC')), last_status Nullable(Int32), last_error Nullable(String)`, 'id'),
    `CREATE TABLE IF NOT EXISTS ${db}.alert_history${onCluster(cluster)} (
       rule String, fingerprint String, group_key String, event LowCardinality(String), event_at DateTime64(6, 'UTC'), severity LowCardinality(String),
       value Nullable(Float64), threshold Nullable(Float64), silenced Bool, explanation Nullable(String), stored_at DateTime64(6, 'UTC') DEFAULT now64(6)
     ) ENGINE = ${mergeTree(cluster, 'alert_history')} ORDER BY (event_at, rule, group_key)`,
    `CREATE TABLE IF NOT EXISTS ${db}.alert_silences${onCluster(cluster)} (
       id String, rule String, group_key Nullable(String), ends_at DateTime64(6, 'UTC'), reason String, created_by String, created_at DateTime64(6, 'UTC')
     ) ENGINE = ${mergeTree(cluster, 'alert_silences')} ORDER BY id`,
    `CREATE TABLE IF NOT EXISTS ${db}.alert_deliveries${onCluster(cluster)} (
       notification_id String, attempt UInt32, attempted_at DateTime64(6, 'UTC'), status Nullable(Int32), error Nullable(String), duration_ms Float64
     ) ENGINE = ${mergeTree(cluster, 'alert_deliveries')} ORDER BY (notification_id, attempt)`,
  ];
});

CLICKHOUSE_MIGRATIONS.push((db, cluster) => {
  // OTLP (otlp.ts). Several instances take spans at once, so nothing here is read, changed and
  // written back: a held span is kept (a day, by the server's clock) rather than taken out when
  // its call comes, a late step is its own row that reads add to its execution's, and a metric
  // series' points are all kept, counted when read (analytics/clickhouse/metrics-usage.ts).
  return [
    `CREATE TABLE IF NOT EXISTS ${db}.otlp_held_spans${onCluster(cluster)} (
       trace_id String, parent_span_id String, span_id String, span String, received_at DateTime64(6, 'UTC'), kept_from DateTime DEFAULT now(),
       INDEX received_minmax received_at TYPE minmax GRANULARITY 1
     ) ENGINE = ${mergeTree(cluster, 'otlp_held_spans')} ORDER BY (trace_id, parent_span_id, span_id) TTL kept_from + INTERVAL 1 DAY`,
    `CREATE TABLE IF NOT EXISTS ${db}.late_steps${onCluster(cluster)} (
       execution_id String, span_id String, step String, stored_at DateTime64(6, 'UTC') DEFAULT now64(6)
     ) ENGINE = ${tableEngine(cluster, 'late_steps')} ORDER BY (execution_id, span_id)`,
    `CREATE TABLE IF NOT EXISTS ${db}.mcp_metric_points${onCluster(cluster)} (
       series String, start_ns String, time_ns UInt128, cumulative Bool, minute DateTime('UTC'), side LowCardinality(String),
       server Nullable(String), tool String, failed Bool, count Float64, sum_ms Float64, received_at DateTime64(6, 'UTC') DEFAULT now64(6),
       INDEX minute_minmax minute TYPE minmax GRANULARITY 1
     ) ENGINE = ${tableEngine(cluster, 'mcp_metric_points')} ORDER BY (series, start_ns, time_ns)`,
  ];
});

CLICKHOUSE_MIGRATIONS.push((db, cluster) => {
  // The sinks each instance exports (export.ts), renewed while it runs: what export_lag watches.
  return [
    `CREATE TABLE IF NOT EXISTS ${db}.export_sinks${onCluster(cluster)} (
       instance String, sink String, streams String, registered_at DateTime64(6, 'UTC') DEFAULT now64(6)
     ) ENGINE = ${mergeTree(cluster, 'export_sinks')} ORDER BY (sink, instance, registered_at) TTL toDateTime(registered_at) + INTERVAL 1 DAY`,
  ];
});

/** Brings the database to the newest version; the same schema_version table as DuckDB's. */
export async function migrateClickHouse(ch: ClickHouseDb, cluster?: string): Promise<void> {
  await ch.command(
    `CREATE TABLE IF NOT EXISTS ${ch.t('schema_version')}${onCluster(cluster)} (version UInt32, applied_at DateTime64(6, 'UTC'))
     ENGINE = ${tableEngine(cluster, 'schema_version')} ORDER BY version`,
  );
  const row = await ch.one<{ v: number }>(`SELECT max(version) AS v FROM ${ch.t('schema_version')}`);
  const current = row?.v ?? 0;
  if (current > CLICKHOUSE_MIGRATIONS.length) {
    throw new SchemaTooNewError(
      `${ch.where} has schema version ${current}, but this mcp-blackbox knows versions up to ${CLICKHOUSE_MIGRATIONS.length}: ` +
        'it was written by a newer release. Upgrade mcp-blackbox on every instance.',
    );
  }
  const startedAt = (await ch.one<{ t: string }>('SELECT toString(now64(6)) AS t'))!.t;
  for (let version = current + 1; version <= CLICKHOUSE_MIGRATIONS.length; version++) {
    for (const statement of CLICKHOUSE_MIGRATIONS[version - 1]!(ch.database, cluster, startedAt)) await ch.command(statement);
    await ch.insert('schema_version', [{ version, applied_at: new Date().toISOString() }]);
  }
}
