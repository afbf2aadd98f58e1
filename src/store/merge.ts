import { KeyConflictError } from './duckdb-errors.js';
import { ROLLUP_SOURCE_COLUMNS, rollupDeltaSql, upsertRollupSql } from './rollup.js';
import type { Db } from './store.js';

/**
 * The idempotent merge of one ingest batch. Input: temp tables `batch_records`, one row per valid
 * input line in canonical columns, and `batch_rejects`, the quarantined lines with their reasons.
 *
 * Supersede rule (README, "The log format"): a record replaces the stored one only if it ranks
 * strictly higher on (terminal status, ended_at). So a byte-identical repeat changes nothing, a
 * final record replaces `running`, the later-ending terminal record wins, and a `running` record
 * that arrives after the final one is ignored. Within a batch the same rank decides, and the
 * earlier line wins a tie, exactly as if the lines had come one by one.
 */

export interface MergeCounts {
  /** Executions stored for the first time. */
  inserted: number;
  /** Stored executions replaced by a record that ranks higher. */
  updated: number;
  /** Valid lines that changed nothing: repeats, or records outranked by another one. */
  duplicates: number;
}

const EXECUTION_COLUMNS = [
  'execution_id', 'started_at', 'ended_at', 'duration_ms', 'status', 'tool_name', 'tool_kind',
  'tool_server', 'user_id', 'user_email', 'user_name', 'user_team', 'agent_client',
  'agent_session_id', 'agent_workflow_run_id', 'environment', 'via_mcp', 'tasks', 'tasks_given', 'cost_usd',
  'input', 'output', 'error_type', 'error_message', 'error_layer', 'attributes', 'step_count', 'failing_connector',
  'execution_key',
] as const;

const STEP_EXTRACT = `
  SELECT w.execution_id, s."index"::INTEGER, s.name, s.connector, s.operation, s.status,
         timezone('UTC', try_cast(s.started_at AS TIMESTAMPTZ)), timezone('UTC', try_cast(s.ended_at AS TIMESTAMPTZ)),
         s.tasks, s.auth.mode, s.auth.identity, s.input, s.output, s.error.type, s.error.message, s.error.layer,
         NULL::JSON AS attributes, w.execution_key
  FROM (SELECT r.execution_id, r.execution_key, unnest(r.step_list) AS s FROM batch_records r JOIN batch_winners w USING (line_no)
        WHERE w.outcome IN ('insert', 'update') AND r.step_count > 0) AS w`;

/**
 * Where the merge looks for the stored copies of a batch's executions.
 *
 * - 'batch-span': only among executions started within the batch's span of started_at. Every
 *   record of an execution (a repeat, the final record after `running`) carries its start, so
 *   its stored copy lies in that span, and zone maps skip the rest of the table. Without the
 *   span, random ids (UUIDv4, OTLP's trace and span ids) made each lookup read every stored
 *   key: with 9.8M UUIDv4 executions stored, a watcher transaction of 10,000 lines took 1,012 ms
 *   (p50), and 439 ms with the span.
 * - 'all': the whole table. For the rare record whose started_at differs from its stored copy's:
 *   the span misses the copy, the insert of the "new" execution then meets the primary key, the
 *   transaction rolls back, and the caller runs it again with 'all' (mergeWithFallback).
 */
export type StoredScope = 'batch-span' | 'all';

/** The condition on started_at that keeps a merge in `scope` among the rows it may touch (executions, failures). */
const inScope = (scope: StoredScope) =>
  scope === 'all' ? 'TRUE' : 'started_at BETWEEN (SELECT min(started_at) FROM batch_records) AND (SELECT max(started_at) FROM batch_records)';

/**
 * The winner per execution_id and what to do with it, computed on narrow columns only: the wide
 * ones (payloads, steps) are read once, when the winners are inserted.
 */
const bestSql = (scope: StoredScope): string => `
  INSERT INTO batch_winners
  SELECT b.line_no, b.execution_id, b.execution_key,
    CASE
      WHEN e.execution_key IS NULL THEN 'insert'
      WHEN b.is_terminal AND e.status = 'running' THEN 'update'
      WHEN b.is_terminal AND b.ended_at > coalesce(e.ended_at, TIMESTAMP '-infinity') THEN 'update'
      ELSE 'keep'
    END AS outcome,
    coalesce(e.step_count > 0, FALSE) AS stored_steps
  FROM (
    SELECT line_no, execution_id, execution_key, is_terminal, ended_at, row_number() OVER (
      PARTITION BY execution_key ORDER BY is_terminal DESC, ended_at DESC NULLS LAST, line_no) AS rank
    FROM batch_records
  ) b
  LEFT JOIN (SELECT * FROM executions WHERE ${inScope(scope)}) e USING (execution_key)
  WHERE b.rank = 1`;

const CHANGED = `batch_records r JOIN batch_winners w USING (line_no) WHERE w.outcome IN ('insert', 'update')`;

/** What the batch holds, counted once after the winners are known: statements with nothing to do are skipped. */
const OUTCOME_SQL = `
  SELECT (SELECT count(*) FILTER (outcome = 'insert') FROM batch_winners)::INTEGER AS inserted,
         (SELECT count(*) FILTER (outcome = 'update') FROM batch_winners)::INTEGER AS updated,
         (SELECT count(*) FILTER (outcome = 'update' AND stored_steps) FROM batch_winners)::INTEGER AS updated_with_steps,
         (SELECT count(*) FROM batch_records)::INTEGER AS valid,
         (SELECT count(*) FROM batch_rejects)::INTEGER AS rejects,
         changed.with_steps, changed.failed
  FROM (SELECT count(*) FILTER (r.step_count > 0)::INTEGER AS with_steps,
               count(*) FILTER (r.status IN ('failed', 'terminated'))::INTEGER AS failed
        FROM ${CHANGED}) AS changed`;

interface Outcome {
  inserted: number;
  updated: number;
  /** Replaced executions that have steps stored. */
  updated_with_steps: number;
  valid: number;
  rejects: number;
  with_steps: number;
  failed: number;
}

/** Each statement with the condition under which it has rows to touch. */
const mergeSql = (scope: StoredScope): Array<{ when: (o: Outcome) => boolean; sql: string }> => [
  // The hourly rollup first, while the replaced executions are still stored: they are taken out
  // of their hour (sign -1), then the winners are added (sign 1).
  {
    when: (o) => o.updated > 0,
    sql: upsertRollupSql(rollupDeltaSql(`
      SELECT ${ROLLUP_SOURCE_COLUMNS.join(', ')}, -1 AS sign FROM executions
      WHERE ${inScope(scope)} AND execution_key IN (SELECT execution_key FROM batch_winners WHERE outcome = 'update')`)),
  },
  {
    when: (o) => o.inserted + o.updated > 0,
    sql: upsertRollupSql(rollupDeltaSql(`SELECT ${ROLLUP_SOURCE_COLUMNS.map((c) => `r.${c}`).join(', ')}, 1 AS sign FROM ${CHANGED}`)),
  },
  // Steps have no start of their execution to narrow this by (StoredScope), so for random ids
  // it reads every stored step's key; it runs only when a replaced execution has steps, which
  // a running record usually has not.
  {
    when: (o) => o.updated_with_steps > 0,
    sql: `DELETE FROM steps WHERE execution_key IN (SELECT execution_key FROM batch_winners WHERE outcome = 'update' AND stored_steps)`,
  },
  { when: (o) => o.updated > 0, sql: `DELETE FROM executions WHERE ${inScope(scope)} AND execution_key IN (SELECT execution_key FROM batch_winners WHERE outcome = 'update')` },
  { when: (o) => o.updated > 0, sql: `DELETE FROM failures WHERE ${inScope(scope)} AND execution_id IN (SELECT execution_id FROM batch_winners WHERE outcome = 'update')` },
  {
    when: (o) => o.inserted + o.updated > 0,
    sql: `INSERT INTO executions (${EXECUTION_COLUMNS.join(', ')}, source, ingested_at)
   SELECT ${EXECUTION_COLUMNS.map((c) => `r.${c}`).join(', ')}, $source, now()::TIMESTAMP
   FROM ${CHANGED}`,
  },
  { when: (o) => o.with_steps > 0, sql: `INSERT INTO steps ${STEP_EXTRACT}` },
  {
    when: (o) => o.failed > 0,
    sql: `INSERT INTO failures
   SELECT r.execution_id, r.started_at, r.status, r.error_type, r.error_layer, r.tool_name, r.tool_server,
          r.failing_connector, r.user_id, r.user_team, r.agent_client, r.environment, r.via_mcp
   FROM ${CHANGED} AND r.status IN ('failed', 'terminated')`,
  },
  // The catalog: every tool ever seen, with the span of its use.
  {
    when: (o) => o.inserted + o.updated > 0,
    sql: `INSERT INTO tools (name, server, kind, first_seen, last_seen)
   SELECT r.tool_name, coalesce(r.tool_server, ''), arg_max(r.tool_kind, r.started_at), min(r.started_at), max(r.started_at)
   FROM ${CHANGED}
   GROUP BY r.tool_name, coalesce(r.tool_server, '')
   ON CONFLICT (name, server) DO UPDATE SET
     kind = excluded.kind,
     first_seen = least(coalesce(tools.first_seen, excluded.first_seen), excluded.first_seen),
     last_seen = greatest(coalesce(tools.last_seen, excluded.last_seen), excluded.last_seen)`,
  },
  // The span of each session and run the batch touches, widened, never narrowed: a record that
  // moves an execution to another session leaves the old span wide, which costs a longer scan
  // and never a missed neighbour.
  {
    when: (o) => o.inserted + o.updated > 0,
    sql: `INSERT INTO agent_spans
   SELECT key, min(started_at), max(started_at)
   FROM (SELECT unnest(['session:' || r.agent_session_id, 'run:' || r.agent_workflow_run_id]) AS key, r.started_at FROM ${CHANGED})
   WHERE key IS NOT NULL
   GROUP BY key
   ON CONFLICT (key) DO UPDATE SET
     first_started_at = least(agent_spans.first_started_at, excluded.first_started_at),
     last_started_at = greatest(agent_spans.last_started_at, excluded.last_started_at)`,
  },
  {
    when: (o) => o.rejects > 0,
    sql: `INSERT INTO quarantine
   SELECT $source, line_no, reason, raw, md5(raw), now()::TIMESTAMP
   FROM batch_rejects
   ON CONFLICT DO NOTHING`,
  },
];

const BEST_SQL = { 'batch-span': bestSql('batch-span'), all: bestSql('all') };
const MERGE_SQL = { 'batch-span': mergeSql('batch-span'), all: mergeSql('all') };


/**
 * Runs a merging write transaction with scope 'batch-span', and once more with 'all' if the span
 * missed a stored copy (StoredScope). The first attempt has rolled back by then, so `write` must
 * do the same work again: it gets the same input and only the scope differs.
 */
export async function mergeWithFallback<T>(write: (scope: StoredScope) => Promise<T>): Promise<T> {
  try {
    return await write('batch-span');
  } catch (error) {
    // An insert met a stored execution: the 'batch-span' merge missed its copy.
    if (!(error instanceof KeyConflictError && error.key === 'execution_key')) throw error;
    return write('all');
  }
}

/**
 * DuckDB's row group: a transaction that appends a whole number of them leaves the table's row
 * groups full; one that appends 250,000 rows leaves a partial group between full ones, and the
 * next checkpoint rewrites its neighbours to merge it, at several times the cost of full groups.
 */
export const ROW_GROUP_ROWS = 122_880;

export interface MergeOptions {
  /**
   * Bulk ingest: store new executions only in whole multiples of this many rows (ROW_GROUP_ROWS)
   * and keep the rest (the latest lines) in batch_records for the next transaction of the same
   * file, whose last transaction stores everything. Carried records rank with the new lines as
   * they would have in one batch, so the outcome is the same.
   */
  alignStoredRows?: number;
  /** Where stored copies are looked for; 'batch-span' unless a first attempt missed one (mergeWithFallback). */
  scope?: StoredScope;
}

export interface MergeResult extends MergeCounts {
  /** New executions held back for the next transaction (MergeOptions.alignStoredRows). */
  deferred: number;
}

export async function mergeBatch(db: Db, source: string, options: MergeOptions = {}): Promise<MergeResult> {
  await db.run('CREATE TEMP TABLE IF NOT EXISTS batch_winners (line_no BIGINT, execution_id VARCHAR, execution_key BLOB, outcome VARCHAR, stored_steps BOOLEAN)');
  await db.run('DELETE FROM batch_winners');
  const scope = options.scope ?? 'batch-span';
  await db.run(BEST_SQL[scope]);
  const deferred = options.alignStoredRows ? await deferPartialRowGroup(db, options.alignStoredRows) : 0;
  // Small batches (the watcher's, HTTP's) pay each statement's fixed cost; skip the empty ones.
  const outcome = (await db.one<Outcome>(OUTCOME_SQL))!;
  for (const { when, sql } of MERGE_SQL[scope]) {
    if (when(outcome)) await db.run(sql, sql.includes('$source') ? { source } : undefined);
  }
  if (options.alignStoredRows) {
    // Only the held-back winners stay; the lines they outrank have changed nothing.
    await db.run(`DELETE FROM batch_records WHERE line_no NOT IN (SELECT line_no FROM batch_winners WHERE outcome = 'defer')`);
  }
  return {
    inserted: outcome.inserted,
    updated: outcome.updated,
    duplicates: outcome.valid - outcome.inserted - outcome.updated - deferred,
    deferred,
  };
}

/** Marks the latest new executions beyond the last whole multiple of `rows` as 'defer'; returns how many. */
async function deferPartialRowGroup(db: Db, rows: number): Promise<number> {
  const counts = (await db.one<{ inserts: number; stored: number }>(
    `SELECT count(*) FILTER (outcome = 'insert')::INTEGER AS inserts, count(*) FILTER (outcome IN ('insert', 'update'))::INTEGER AS stored
     FROM batch_winners`,
  ))!;
  const excess = counts.stored % rows;
  // Under one row group, aligned already, or a remainder made of replacements: nothing to hold back.
  if (counts.stored < rows || excess === 0 || excess > counts.inserts) return 0;
  await db.run(
    `UPDATE batch_winners SET outcome = 'defer'
     WHERE line_no IN (SELECT line_no FROM batch_winners WHERE outcome = 'insert' ORDER BY line_no DESC LIMIT ${excess})`,
  );
  return excess;
}
