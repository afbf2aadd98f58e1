/**
 * Forward-only schema migrations, applied in order at open. Never edit a migration that has
 * shipped: add a new one. Times are UTC `TIMESTAMP` (not TIMESTAMPTZ): bucketing is several times
 * faster, and every writer converts to UTC before storing.
 */
import { EXECUTION_KEY_MACRO } from './execution-key.js';
import { ADD_TASKS_GIVEN_SQL, BACKFILL_ROLLUP_SQL_V7, CREATE_ROLLUP_SQL_V7 } from './rollup.js';

/**
 * A migration that copies tables too large to copy within memory_limit in one transaction. It
 * runs `before` in one transaction, copies each table a range of rows per transaction, then runs
 * `after` in the transaction that records the new version. Interrupted, it starts again from
 * `before` at the next open, which drops what the earlier attempt left.
 */
export interface CopyingMigration {
  before: string;
  /** `select` is read a range of rowids at a time and inserted into `into`. */
  copies: ReadonlyArray<{ from: string; into: string; select: string }>;
  after: string;
}

export type Migration = string | CopyingMigration;

export const MIGRATIONS: readonly Migration[] = [
  // 1: executions, steps, quarantine, checkpoints, tool catalog
  `
  CREATE TABLE executions (
    execution_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    duration_ms DOUBLE,
    status VARCHAR NOT NULL,
    tool_name VARCHAR NOT NULL,
    tool_kind VARCHAR NOT NULL,
    tool_server VARCHAR,
    user_id VARCHAR NOT NULL,
    user_email VARCHAR,
    user_name VARCHAR,
    user_team VARCHAR,
    agent_client VARCHAR,
    agent_session_id VARCHAR,
    agent_workflow_run_id VARCHAR,
    environment VARCHAR,
    via_mcp BOOLEAN NOT NULL,
    tasks DOUBLE NOT NULL,
    cost_usd DOUBLE,
    input JSON,
    output JSON,
    error_type VARCHAR,
    error_message VARCHAR,
    error_layer VARCHAR,
    attributes JSON,
    step_count INTEGER NOT NULL,
    source VARCHAR NOT NULL,
    ingested_at TIMESTAMP NOT NULL
  );

  CREATE TABLE steps (
    execution_id VARCHAR NOT NULL,
    step_index INTEGER NOT NULL,
    name VARCHAR NOT NULL,
    connector VARCHAR,
    operation VARCHAR,
    status VARCHAR NOT NULL,
    started_at TIMESTAMP,
    ended_at TIMESTAMP,
    tasks DOUBLE,
    auth_mode VARCHAR,
    auth_identity VARCHAR,
    input JSON,
    output JSON,
    error_type VARCHAR,
    error_message VARCHAR,
    error_layer VARCHAR,
    attributes JSON
  );

  CREATE TABLE quarantine (
    source VARCHAR NOT NULL,
    line_no BIGINT NOT NULL,
    reason VARCHAR NOT NULL,
    raw VARCHAR NOT NULL,
    raw_md5 VARCHAR NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, line_no, raw_md5)
  );

  -- Keyed by the file's fingerprint (its first line), not its path: a file renamed by log
  -- rotation keeps its identity and its offset; a new file under the old name starts afresh.
  CREATE TABLE ingest_checkpoints (
    fingerprint VARCHAR PRIMARY KEY,
    fingerprint_bytes INTEGER NOT NULL,
    path VARCHAR NOT NULL,
    byte_offset BIGINT NOT NULL,
    line_no BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
  );

  CREATE TABLE tools (
    name VARCHAR NOT NULL,
    server VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    first_seen TIMESTAMP,
    last_seen TIMESTAMP,
    from_catalog BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (name, server)
  );

  -- trace_execution reads one execution's steps; without an index that is a full scan.
  CREATE INDEX steps_by_execution ON steps (execution_id);
  `,
  // 2: the audit log. Append-only by convention and by code: nothing in mcp-blackbox updates or
  // deletes these rows; the hash chain makes any edit, deletion or reordering detectable.
  `
  CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY,
    occurred_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    target VARCHAR,
    reason VARCHAR,
    details JSON,
    prev_hash VARCHAR NOT NULL,
    hash VARCHAR NOT NULL
  );
  `,
  // 3: Standard Webhooks delivery ids, so a redelivered webhook is acknowledged and not stored twice.
  `
  CREATE TABLE webhook_deliveries (
    webhook_id VARCHAR PRIMARY KEY,
    received_at TIMESTAMP NOT NULL
  );
  `,
  // 4: the connector of the first failed step, kept on the execution: failure_report groups by
  // it, and reading it from the row spares a scan of every step (3 per execution) per report.
  `
  ALTER TABLE executions ADD COLUMN failing_connector VARCHAR;
  UPDATE executions SET failing_connector = f.connector
  FROM (SELECT execution_id, arg_min(connector, step_index) AS connector FROM steps
        WHERE status IN ('failed', 'terminated') GROUP BY execution_id) AS f
  WHERE executions.execution_id = f.execution_id;
  `,
  // 5: failed and terminated executions, narrow. failure_report reads these few percent of the
  // rows instead of scanning every execution's status in the window. The ingest merge keeps it
  // in step with executions (a replaced execution leaves it; a failed one enters it).
  `
  CREATE TABLE failures AS
  SELECT execution_id, started_at, status, error_type, error_layer, tool_name, tool_server, failing_connector,
         user_id, user_team, agent_client, environment, via_mcp
  FROM executions WHERE status IN ('failed', 'terminated') ORDER BY started_at;
  `,
  // 6: the time span of each agent session and workflow run. trace_execution finds an execution's
  // neighbours by scanning only that span instead of guessing a window around it. The merge
  // widens a span as executions arrive; it never narrows one, so it always covers every member.
  // One key column ('session:<id>', 'run:<id>'): DuckDB answers a point lookup from the index
  // of a single-column key, and scans on a composite one.
  `
  CREATE TABLE agent_spans (
    key VARCHAR PRIMARY KEY,
    first_started_at TIMESTAMP NOT NULL,
    last_started_at TIMESTAMP NOT NULL
  );
  INSERT INTO agent_spans
  SELECT 'session:' || agent_session_id, min(started_at), max(started_at) FROM executions
  WHERE agent_session_id IS NOT NULL GROUP BY agent_session_id;
  INSERT INTO agent_spans
  SELECT 'run:' || agent_workflow_run_id, min(started_at), max(started_at) FROM executions
  WHERE agent_workflow_run_id IS NOT NULL GROUP BY agent_workflow_run_id;
  `,
  // 7: executions counted per hour and dimensions, for the windowed tools (src/store/rollup.ts).
  `${CREATE_ROLLUP_SQL_V7};
  ${BACKFILL_ROLLUP_SQL_V7};
  `,
  // 8: executions keyed by their id as compact bytes (src/store/execution-key.ts), so that random
  // ids cost the indexes ~60 bytes per execution instead of ~100; the steps' index moves to the
  // same key. DuckDB cannot drop a primary key, so both tables are copied (in their stored
  // order: the scans' zone maps rely on time order), a range of rows per transaction: in one
  // transaction, copying 10M executions ran out of the default 384MB.
  {
    before: `${EXECUTION_KEY_MACRO};
    DROP TABLE IF EXISTS executions_keyed;
    DROP TABLE IF EXISTS steps_keyed;
    CREATE TABLE executions_keyed (
      execution_id VARCHAR NOT NULL,
      started_at TIMESTAMP NOT NULL,
      ended_at TIMESTAMP,
      duration_ms DOUBLE,
      status VARCHAR NOT NULL,
      tool_name VARCHAR NOT NULL,
      tool_kind VARCHAR NOT NULL,
      tool_server VARCHAR,
      user_id VARCHAR NOT NULL,
      user_email VARCHAR,
      user_name VARCHAR,
      user_team VARCHAR,
      agent_client VARCHAR,
      agent_session_id VARCHAR,
      agent_workflow_run_id VARCHAR,
      environment VARCHAR,
      via_mcp BOOLEAN NOT NULL,
      tasks DOUBLE NOT NULL,
      cost_usd DOUBLE,
      input JSON,
      output JSON,
      error_type VARCHAR,
      error_message VARCHAR,
      error_layer VARCHAR,
      attributes JSON,
      step_count INTEGER NOT NULL,
      source VARCHAR NOT NULL,
      ingested_at TIMESTAMP NOT NULL,
      failing_connector VARCHAR,
      execution_key BLOB PRIMARY KEY
    );
    CREATE TABLE steps_keyed (
      execution_id VARCHAR NOT NULL,
      step_index INTEGER NOT NULL,
      name VARCHAR NOT NULL,
      connector VARCHAR,
      operation VARCHAR,
      status VARCHAR NOT NULL,
      started_at TIMESTAMP,
      ended_at TIMESTAMP,
      tasks DOUBLE,
      auth_mode VARCHAR,
      auth_identity VARCHAR,
      input JSON,
      output JSON,
      error_type VARCHAR,
      error_message VARCHAR,
      error_layer VARCHAR,
      attributes JSON,
      execution_key BLOB NOT NULL
    );`,
    copies: [
      { from: 'executions', into: 'executions_keyed', select: 'SELECT *, execution_key_of(execution_id) FROM executions' },
      { from: 'steps', into: 'steps_keyed', select: 'SELECT *, execution_key_of(execution_id) FROM steps' },
    ],
    after: `
    DROP TABLE executions;
    ALTER TABLE executions_keyed RENAME TO executions;
    DROP TABLE steps;
    ALTER TABLE steps_keyed RENAME TO steps;
    -- Made last: DuckDB renames no table that has an index. Made in one go, it fits: 4M steps
    -- (10M executions) took 4.2 s within 384MB.
    CREATE INDEX steps_by_execution ON steps (execution_key);`,
  },  // 9: whether each execution's record stated its tasks, and per hour how many cost the default
  // (src/store/rollup.ts), so a cost answer says how much of its total is the default.
  ADD_TASKS_GIVEN_SQL,  // 10: tool lists as the recording proxy sees servers answer tools/list: each tool definition and
  // each server's whole list, a row per version (src/store/catalog.ts).
  `
  CREATE TABLE tool_definitions (
    server VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    description VARCHAR,
    input_schema_sha256 VARCHAR,
    first_seen TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL
  );
  CREATE TABLE server_tool_lists (
    server VARCHAR NOT NULL,
    tools_sha256 VARCHAR NOT NULL,
    tool_count INTEGER NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL
  );
  `,  // 11: OTLP spans waiting for their parent (src/store/otlp-held.ts).
  `
  CREATE TABLE otlp_held_spans (
    trace_id VARCHAR NOT NULL,
    parent_span_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    span JSON NOT NULL,
    received_at TIMESTAMP NOT NULL
  );
  -- Spans whose tool call never came within the waiting period: counted, for /healthz.
  CREATE TABLE otlp_orphans (expired BIGINT NOT NULL);
  INSERT INTO otlp_orphans VALUES (0);
  `,  // 12: tool calls counted from OTLP metrics (the MCP operation-duration histograms), per minute,
  // and the last cumulative value of each series, to turn cumulative points into counts.
  `
  CREATE TABLE mcp_metric_minutes (
    minute TIMESTAMP NOT NULL,
    side VARCHAR NOT NULL,
    server VARCHAR,
    tool_name VARCHAR NOT NULL,
    failed BOOLEAN NOT NULL,
    calls BIGINT NOT NULL,
    duration_sum_ms DOUBLE NOT NULL
  );
  CREATE TABLE mcp_metric_series (
    series VARCHAR PRIMARY KEY,
    start_ns VARCHAR NOT NULL,
    count DOUBLE NOT NULL,
    sum_ms DOUBLE NOT NULL,
    updated_at TIMESTAMP NOT NULL
  );
  `,
  // 13: alerting (src/alerts): rules, the state of each alert (a rule and a group), its history,
  // silences, and the notifications owed to each channel with every delivery attempt, so none is
  // lost across a restart.
  `
  CREATE TABLE alert_rules (
    name VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    rule JSON NOT NULL,
    origin VARCHAR NOT NULL,
    updated_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
  );
  CREATE TABLE alert_ticks (
    rule VARCHAR PRIMARY KEY,
    last_tick TIMESTAMP NOT NULL,
    last_error VARCHAR,
    duration_ms DOUBLE NOT NULL
  );
  CREATE TABLE alert_states (
    fingerprint VARCHAR PRIMARY KEY,
    rule VARCHAR NOT NULL,
    group_key VARCHAR NOT NULL,
    state JSON NOT NULL,
    explanation JSON,
    updated_at TIMESTAMP NOT NULL
  );
  CREATE TABLE alert_history (
    rule VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    group_key VARCHAR NOT NULL,
    event VARCHAR NOT NULL,
    event_at TIMESTAMP NOT NULL,
    severity VARCHAR NOT NULL,
    value DOUBLE,
    threshold DOUBLE,
    silenced BOOLEAN NOT NULL,
    explanation JSON
  );
  CREATE TABLE alert_silences (
    id VARCHAR PRIMARY KEY,
    rule VARCHAR NOT NULL,
    group_key VARCHAR,
    ends_at TIMESTAMP NOT NULL,
    reason VARCHAR NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
  );
  CREATE TABLE alert_notifications (
    id VARCHAR PRIMARY KEY,
    channel VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    event VARCHAR NOT NULL,
    event_at TIMESTAMP NOT NULL,
    message JSON NOT NULL,
    created_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP,
    delivered_at TIMESTAMP,
    last_status INTEGER,
    last_error VARCHAR
  );
  CREATE TABLE alert_deliveries (
    notification_id VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    status INTEGER,
    error VARCHAR,
    duration_ms DOUBLE NOT NULL
  );
  `,
  // 14: streaming to SIEMs (src/export): a durable cursor per sink and stream, advanced only
  // after the receiver acknowledged; alert history gets a sequence to be read in order.
  `
  CREATE TABLE export_cursors (
    sink VARCHAR NOT NULL,
    stream VARCHAR NOT NULL,
    position VARCHAR NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (sink, stream)
  );
  CREATE TABLE export_status (
    sink VARCHAR PRIMARY KEY,
    streams VARCHAR,
    last_success TIMESTAMP,
    last_error VARCHAR,
    last_error_at TIMESTAMP,
    sent BIGINT NOT NULL
  );
  CREATE SEQUENCE alert_history_seq;
  ALTER TABLE alert_history ADD COLUMN seq BIGINT;
  UPDATE alert_history SET seq = nextval('alert_history_seq');
  `,
];
