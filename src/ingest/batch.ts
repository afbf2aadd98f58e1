import { announceIngested } from './ingested.js';
import type { Db, Store } from '../store/store.js';
import { mergeBatch, mergeWithFallback, type MergeCounts, type MergeOptions } from '../store/merge.js';
import type { LineBlock } from './lines.js';
import { TERMINAL_STATUSES } from '../model.js';
import { prepareBatchYielding, type PreparedBatch, type Reject } from './prepare.js';
import { reasonCode } from './validate.js';
import type { ToolListRecord } from './catalog-record.js';
import { recordToolLists } from '../store/catalog.js';
import { SCRATCH_FILE_MODE, scratchDir } from './scratch.js';
import { closeSync, ftruncate, openSync, write } from 'node:fs';
import { join } from 'node:path';

export interface BatchResult extends MergeCounts {
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

/**
 * Validates a block of raw lines (in JavaScript, once per line) and commits the valid records,
 * the quarantined lines and the merge in one write transaction. `afterMerge` runs in the same
 * transaction, so a checkpoint saved there can never get ahead of the rows it covers.
 */
export async function ingestLines(
  store: Store,
  block: LineBlock,
  source: string,
  afterMerge?: (db: Db) => Promise<void>,
): Promise<BatchResult> {
  const batch = await prepareBatchYielding(block, store.clock.now());
  try {
    return await commitBatch(store, batch, source, afterMerge);
  } finally {
    batch.release();
  }
}

/** The store side of ingest: load the prepared records with read_json, quarantine, merge. */
export async function commitBatch(
  store: Store,
  batch: PreparedBatch,
  source: string,
  afterMerge?: (db: Db) => Promise<void>,
): Promise<BatchResult> {
  const result = await mergeWithFallback((scope) =>
    store.write(async (db) => {
      const load = await BatchLoad.begin(store, db);
      await load.add(batch);
      return load.finish(source, afterMerge, { scope });
    }),
  );
  announceIngested(store, result);
  return result;
}

/**
 * One transaction's worth of prepared chunks, loaded one after another into the batch tables and
 * merged once. File ingest puts several chunks in one transaction: when a transaction inserts
 * more than a row group (122,880 rows), DuckDB writes the rows straight to the database file,
 * compressed, instead of to the WAL and again at the next checkpoint, which halves write cost.
 */
export class BatchLoad {
  private valid = 0;
  private readonly rejects: Array<{ lineNo: number; reason: string }> = [];
  private readonly toolLists: ToolListRecord[] = [];

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
  async add(batch: PreparedBatch): Promise<void> {
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
  async addFiles(chunks: ReadonlyArray<{ path: string; valid: number; rejects: Reject[]; toolLists: ToolListRecord[] }>): Promise<void> {
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

  /** Merges everything loaded; `afterMerge` runs in the same transaction. */
  async finish(source: string, afterMerge?: (db: Db) => Promise<void>, options: MergeOptions = {}): Promise<BatchResult> {
    const counts = await mergeBatch(this.db, source, options);
    if (this.toolLists.length > 0) await recordToolLists(this.db, this.toolLists);
    if (afterMerge) await afterMerge(this.db);
    const quarantined: Record<string, number> = {};
    // Counted by code: the details (what was expected, what came) differ line by line.
    for (const r of this.rejects) quarantined[reasonCode(r.reason)] = (quarantined[reasonCode(r.reason)] ?? 0) + 1;
    const rejected = [...this.rejects].sort((a, b) => a.lineNo - b.lineNo).slice(0, REJECTED_DETAIL_CAP);
    return { lines: this.valid + this.rejects.length + this.toolLists.length, ...counts, tool_lists: this.toolLists.length, quarantined, rejected };
  }
}

const REJECTED_DETAIL_CAP = 1000;

/**
 * Steps are read typed, as a list of structs: unnesting structs is several times cheaper than
 * extracting each field of each step from JSON text. Validation has already checked every
 * step field's type; times stay text here and are converted where steps are stored.
 */
export const STEP_LIST_TYPE =
  'STRUCT("index" DOUBLE, name VARCHAR, connector VARCHAR, operation VARCHAR, status VARCHAR, started_at VARCHAR, ' +
  'ended_at VARCHAR, tasks DOUBLE, auth STRUCT(mode VARCHAR, identity VARCHAR), input JSON, output JSON, ' +
  'error STRUCT(type VARCHAR, message VARCHAR, layer VARCHAR))[]';

const READ_COLUMNS = `{
  __line: 'BIGINT', __tasks: 'DOUBLE', __tasks_given: 'BOOLEAN', __attributes: 'JSON',
  execution_id: 'VARCHAR', started_at: 'VARCHAR', ended_at: 'VARCHAR', duration_ms: 'DOUBLE', status: 'VARCHAR',
  tool: 'STRUCT(name VARCHAR, kind VARCHAR, server VARCHAR)',
  "user": 'STRUCT(id VARCHAR, email VARCHAR, name VARCHAR, team VARCHAR)',
  agent: 'STRUCT(client VARCHAR, session_id VARCHAR, workflow_run_id VARCHAR)',
  environment: 'VARCHAR', via_mcp: 'BOOLEAN', tasks: 'DOUBLE', cost_usd: 'DOUBLE',
  input: 'JSON', output: 'JSON', error: 'STRUCT(type VARCHAR, message VARCHAR, layer VARCHAR)', steps: '${STEP_LIST_TYPE}'
}`;

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

export interface IngestSummary {
  files: number;
  lines: number;
  inserted: number;
  updated: number;
  duplicates: number;
  quarantined: Record<string, number>;
}

export function emptySummary(): IngestSummary {
  return { files: 0, lines: 0, inserted: 0, updated: 0, duplicates: 0, quarantined: {} };
}

export function addBatch(summary: IngestSummary, batch: BatchResult): void {
  summary.lines += batch.lines;
  summary.inserted += batch.inserted;
  summary.updated += batch.updated;
  summary.duplicates += batch.duplicates;
  for (const [reason, n] of Object.entries(batch.quarantined)) {
    summary.quarantined[reason] = (summary.quarantined[reason] ?? 0) + n;
  }
}

export function quarantinedTotal(summary: IngestSummary): number {
  return Object.values(summary.quarantined).reduce((a, b) => a + b, 0);
}
