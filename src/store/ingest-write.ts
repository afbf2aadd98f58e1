import { closeSync, ftruncate, openSync, write } from 'node:fs';
import { join } from 'node:path';
import { reasonCode, TERMINAL_STATUSES } from '../model.js';
import { SCRATCH_FILE_MODE, scratchDir } from '../scratch.js';
import { recordToolLists, type ToolList } from './catalog.js';
import { saveCheckpoint, type Checkpoint } from './checkpoints.js';
import { KeyConflictError } from './duckdb-errors.js';
import { mergeBatch, mergeWithFallback, type MergeCounts, type MergeOptions } from './merge.js';
import type { Db, Store } from './store.js';
// The staged records' column types come from the format's one statement (ingest/rules.ts).
import { READ_COLUMNS, STEP_LIST_TYPE } from '../ingest/columns.js';

/**
 * The write path's entry into the store: ingest hands over validated records as data (a staged
 * NDJSON buffer, the quarantined lines with their reasons, tool lists) and says what must commit
 * with them (a tailer's position, a webhook's delivery id). Every statement of an ingest write is
 * here and in merge.ts; nothing above the store passes SQL or a callback into the transaction.
 */

/** A batch as ingest prepared it: the valid records already checked, one JSON object per line. */
export interface StorableBatch {
  /** Number of valid records in `staging`. */
  valid: number;
  /** The valid records, normalised, as NDJSON with the load's columns (__line, __tasks, ...). */
  staging: Buffer;
  rejects: Reject[];
  toolLists: ToolList[];
}

/** A quarantined line: where it was, why, and the raw text (capped). */
export interface Reject {
  lineNo: number;
  reason: string;
  raw: string;
}

/** What commits in the same transaction as the records. */
export interface CommitOptions {
  /** Where the records came from (a path, http:<request id>, ...): kept with quarantined lines. */
  source: string;
  /** A tailed file's position after these lines: saved with them, so it never gets ahead of what was stored. */
  checkpoint?: Checkpoint;
  /**
   * A webhook's delivery id: stored with the records. A delivery already stored (two at once)
   * commits nothing and comes back as `duplicate_delivery`.
   */
  deliveryId?: string;
}

export interface BatchResult extends MergeCounts {
  /** The delivery id was stored already: nothing of this batch was (CommitOptions.deliveryId). */
  duplicate_delivery?: boolean;
  lines: number;
  /** Valid records held back for the next transaction of the same file (MergeOptions). */
  deferred: number;
  /** Tool lists stored (the catalog record type). */
  tool_lists: number;
  /** Quarantined lines by reason. */
  quarantined: Record<string, number>;
  /** The first quarantined lines with their reasons (capped), for replies that must name them. */
  rejected: Array<{ lineNo: number; reason: string }>;
}

/** Commits one prepared batch: its records merged, its quarantined lines and whatever `options` names, in one transaction. */
export async function commitBatch(store: Store, batch: StorableBatch, options: CommitOptions): Promise<BatchResult> {
  try {
    return await mergeWithFallback((scope) =>
      store.write(async (db) => {
        const load = await BatchLoad.begin(store, db);
        await load.add(batch);
        return load.finish(options, { scope });
      }),
    );
  } catch (error) {
    if (options.deliveryId !== undefined && error instanceof KeyConflictError && error.key === 'webhook_id') {
      return { ...emptyResult(), duplicate_delivery: true };
    }
    throw error;
  }
}

/** A chunk file ingest spooled to disk ahead of the store (files.ts). */
export interface SpooledChunk {
  path: string;
  valid: number;
  rejects: Reject[];
  toolLists: ToolList[];
}

/**
 * Commits chunks of one file in one transaction (file ingest: a transaction above a row group
 * writes its rows straight to the database file). `carryDeferred`: start with the records the
 * previous transaction of the same file held back; `alignStoredRows`: hold back the new records
 * past the last whole row group (MergeOptions).
 */
export function commitFileChunks(
  store: Store,
  chunks: readonly SpooledChunk[],
  options: { source: string; carryDeferred: boolean; alignStoredRows?: number },
): Promise<BatchResult> {
  return mergeWithFallback((scope) =>
    store.write(async (db) => {
      const load = await BatchLoad.begin(store, db, { carryDeferred: options.carryDeferred });
      await load.addFiles(chunks);
      return load.finish({ source: options.source }, { alignStoredRows: options.alignStoredRows, scope });
    }),
  );
}

/** Whether a webhook delivery id was stored already (a repeated delivery is acknowledged, not stored again). */
export async function deliverySeen(store: Store, deliveryId: string): Promise<boolean> {
  const row = await store.read((db) => db.one<{ n: number }>('SELECT count(*)::INTEGER AS n FROM webhook_deliveries WHERE webhook_id = $id', { id: deliveryId }));
  return (row?.n ?? 0) > 0;
}

function emptyResult(): BatchResult {
  return { lines: 0, inserted: 0, updated: 0, duplicates: 0, deferred: 0, tool_lists: 0, quarantined: {}, rejected: [] };
}

/**
 * One transaction's worth of prepared chunks, loaded one after another into the batch tables and
 * merged once. File ingest puts several chunks in one transaction: when a transaction inserts
 * more than a row group (122,880 rows), DuckDB writes the rows straight to the database file,
 * compressed, instead of to the WAL and again at the next checkpoint, which halves write cost.
 */
class BatchLoad {
  private valid = 0;
  private readonly rejects: Array<{ lineNo: number; reason: string }> = [];
  private readonly toolLists: ToolList[] = [];

  private constructor(
    private readonly db: Db,
    private readonly staging: StagingFile,
  ) {}

  /**
   * Starts a load; call inside `store.write`, with the `db` it hands over. It starts empty, or,
   * with `carryDeferred`, with the records the previous transaction of the same file deferred.
   */
  static async begin(store: Store, db: Db, options: { carryDeferred?: boolean } = {}): Promise<BatchLoad> {
    const staging = await prepareTables(store, db);
    if (!options.carryDeferred) await db.run('DELETE FROM batch_records');
    await db.run('DELETE FROM batch_rejects');
    return new BatchLoad(db, staging);
  }

  /** Valid records loaded so far. */
  get records(): number {
    return this.valid;
  }

  /** Loads one prepared chunk; the chunk's buffer may be released once this resolves. */
  async add(batch: StorableBatch): Promise<void> {
    if (batch.valid > 0) {
      await this.staging.replace(batch.staging);
      await this.db.run(loadSql([this.staging.path]));
    }
    await this.addRejects(batch.rejects);
    this.toolLists.push(...batch.toolLists);
    this.valid += batch.valid;
  }

  /**
   * Loads chunks already written to files (file ingest spools them to disk ahead of the store):
   * one read_json over all of them, so DuckDB parses them on all its threads at once.
   */
  async addFiles(chunks: readonly SpooledChunk[]): Promise<void> {
    const withRecords = chunks.filter((c) => c.valid > 0).map((c) => c.path);
    if (withRecords.length > 0) await this.db.run(loadSql(withRecords));
    for (const chunk of chunks) {
      await this.addRejects(chunk.rejects);
      this.toolLists.push(...chunk.toolLists);
      this.valid += chunk.valid;
    }
  }

  private async addRejects(rejects: Reject[]): Promise<void> {
    if (rejects.length === 0) return;
    const appender = await this.db.connection.createAppender('batch_rejects', 'main', 'temp');
    try {
      for (const reject of rejects) {
        appender.appendBigInt(BigInt(reject.lineNo));
        appender.appendVarchar(reject.reason);
        appender.appendVarchar(reject.raw);
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    for (const r of rejects) this.rejects.push({ lineNo: r.lineNo, reason: r.reason });
  }

  /** Merges everything loaded, with what `commit` names, in the same transaction. */
  async finish(commit: CommitOptions, options: MergeOptions = {}): Promise<BatchResult> {
    const counts = await mergeBatch(this.db, commit.source, options);
    if (this.toolLists.length > 0) await recordToolLists(this.db, this.toolLists);
    if (commit.checkpoint) await saveCheckpoint(this.db, commit.checkpoint);
    if (commit.deliveryId !== undefined) await this.db.run('INSERT INTO webhook_deliveries VALUES ($id, now()::TIMESTAMP)', { id: commit.deliveryId });
    return { lines: this.valid + this.rejects.length + this.toolLists.length, ...counts, tool_lists: this.toolLists.length, ...rejectSummary(this.rejects) };
  }
}

const REJECTED_DETAIL_CAP = 1000;

/** A batch's quarantined lines as its result reports them, whichever engine stored them. */
export function rejectSummary(rejects: ReadonlyArray<{ lineNo: number; reason: string }>): Pick<BatchResult, 'quarantined' | 'rejected'> {
  const quarantined: Record<string, number> = {};
  // Counted by code: the details (what was expected, what came) differ line by line.
  for (const r of rejects) quarantined[reasonCode(r.reason)] = (quarantined[reasonCode(r.reason)] ?? 0) + 1;
  const rejected = [...rejects].sort((a, b) => a.lineNo - b.lineNo).slice(0, REJECTED_DETAIL_CAP).map((r) => ({ lineNo: r.lineNo, reason: r.reason }));
  return { quarantined, rejected };
}

/**
 * Valid records only reach this read, so a conversion error here is a bug, and it fails the
 * batch loudly (ignore_errors stays off) rather than dropping a record.
 */
function loadSql(paths: string[]): string {
  const files = `[${paths.map((p) => `'${p.replaceAll("'", "''")}'`).join(', ')}]`;
  return `
  INSERT INTO batch_records
  SELECT __line, execution_id, execution_key_of(execution_id), s_utc, e_utc,
         coalesce(duration_ms, CASE WHEN e_utc >= s_utc THEN CAST(epoch_ms(e_utc) - epoch_ms(s_utc) AS DOUBLE) END),
         status, status IN (${TERMINAL_STATUSES.map((x) => `'${x}'`).join(', ')}),
         tool.name, coalesce(tool.kind, 'connector'), tool.server,
         "user".id, "user".email, "user".name, "user".team,
         agent.client, agent.session_id, agent.workflow_run_id,
         environment, coalesce(via_mcp, true), __tasks, __tasks_given, cost_usd,
         CASE WHEN input IS NOT NULL AND input::VARCHAR <> 'null' THEN input END,
         CASE WHEN output IS NOT NULL AND output::VARCHAR <> 'null' THEN output END,
         error.type, error.message, error.layer, __attributes,
         steps, coalesce(len(steps), 0)::INTEGER,
         -- The connector of the lowest-index failed step that names one (as migration 4 computes
         -- it with arg_min, which skips null connectors); list functions, as a correlated subquery
         -- per row made the load four times slower.
         (list_sort(list_filter(steps, lambda s: s.status IN ('failed', 'terminated') AND s.connector IS NOT NULL)))[1].connector
  FROM (
    SELECT *, timezone('UTC', CAST(started_at AS TIMESTAMPTZ)) AS s_utc, timezone('UTC', CAST(ended_at AS TIMESTAMPTZ)) AS e_utc
    FROM read_json(${files}, format = 'newline_delimited', columns = ${READ_COLUMNS},
                   maximum_object_size = ${4 * 1024 * 1024})
  )`;
}

/**
 * The file DuckDB reads each batch from: rewritten in place (write, then truncate to size) so
 * its tmpfs pages are reused from batch to batch rather than freed and faulted in again.
 */
class StagingFile {
  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  /** The file lives in a private directory, removed when the store closes (or the process exits). */
  static async create(store: Store): Promise<StagingFile> {
    const dir = await scratchDir('staging');
    const path = join(dir.path, 'records.ndjson');
    const fd = openSync(path, 'w+', SCRATCH_FILE_MODE);
    store.onClose(() => {
      closeSync(fd);
      dir.remove();
    });
    return new StagingFile(path, fd);
  }

  async replace(bytes: Buffer): Promise<void> {
    let written = 0;
    while (written < bytes.length) written += await writeAsync(this.fd, bytes, written, bytes.length - written, written);
    await truncateAsync(this.fd, bytes.length);
  }
}

const writeAsync = (fd: number, buffer: Buffer, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => write(fd, buffer, offset, length, position, (error, n) => (error ? reject(error) : resolve(n))));
const truncateAsync = (fd: number, length: number) =>
  new Promise<void>((resolve, reject) => ftruncate(fd, length, (error) => (error ? reject(error) : resolve())));

const stagingFiles = new WeakMap<Db, StagingFile>();

/**
 * The batch tables live as long as the write connection, emptied for each transaction.
 * They are created inside the caller's transaction, so a transaction that fails takes them with
 * it (its rollback undoes the CREATE): they are checked for in every transaction, not once per
 * connection, or every write after the first failed one would fail too.
 */
async function prepareTables(store: Store, db: Db): Promise<StagingFile> {
  await db.run(`CREATE TEMP TABLE IF NOT EXISTS batch_records (
    line_no BIGINT, execution_id VARCHAR, execution_key BLOB, started_at TIMESTAMP, ended_at TIMESTAMP, duration_ms DOUBLE,
    status VARCHAR, is_terminal BOOLEAN, tool_name VARCHAR, tool_kind VARCHAR, tool_server VARCHAR,
    user_id VARCHAR, user_email VARCHAR, user_name VARCHAR, user_team VARCHAR,
    agent_client VARCHAR, agent_session_id VARCHAR, agent_workflow_run_id VARCHAR,
    environment VARCHAR, via_mcp BOOLEAN, tasks DOUBLE, tasks_given BOOLEAN, cost_usd DOUBLE, input JSON, output JSON,
    error_type VARCHAR, error_message VARCHAR, error_layer VARCHAR, attributes JSON,
    step_list ${STEP_LIST_TYPE}, step_count INTEGER, failing_connector VARCHAR)`);
  await db.run('CREATE TEMP TABLE IF NOT EXISTS batch_rejects (line_no BIGINT, reason VARCHAR, raw VARCHAR)');
  const existing = stagingFiles.get(db);
  if (existing) return existing;
  const staging = await StagingFile.create(store);
  stagingFiles.set(db, staging);
  return staging;
}

