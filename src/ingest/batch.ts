import type { Db, Store } from '../store/store.js';
import { mergeBatch, type MergeCounts } from '../store/merge.js';
import type { LineBlock } from './lines.js';
import { stepCheckSql, validationQuery } from './validate-sql.js';
import { encodeStaging } from './staging.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BatchResult extends MergeCounts {
  lines: number;
}

const VALIDATION_SQL = validationQuery();
const STEP_CHECK_SQL = stepCheckSql();

/**
 * Stages a block of raw lines in DuckDB and validates, normalises and merges them there in bulk,
 * in one write transaction. `afterMerge` runs in the same transaction, so a checkpoint saved there
 * can never get ahead of the rows it covers.
 */
export async function ingestLines(
  store: Store,
  block: LineBlock,
  source: string,
  afterMerge?: (db: Db) => Promise<void>,
): Promise<BatchResult> {
  const staged = encodeStaging(block);
  return store.write(async (db) => {
    const stagingFile = await prepareStaging(db);
    await db.runPrepared('DELETE FROM staged_lines');
    if (staged.lines > 0) {
      await writeFile(stagingFile, staged.buffer);
      await db.runPrepared(stagingSql(stagingFile));
    }
    for (const reject of staged.rejects) {
      await db.run('INSERT INTO staged_lines VALUES ($lineNo, $head, $reason)', { ...reject });
    }
    await db.runPrepared('DELETE FROM batch_records');
    await db.runPrepared(`INSERT INTO batch_records ${VALIDATION_SQL}`, { now: sqlTimestamp(store.clock.now()) });
    for (const sql of STEP_CHECK_SQL) await db.runPrepared(sql);
    const counts = await mergeBatch(db, source);
    if (afterMerge) await afterMerge(db);
    return { lines: staged.lines + staged.rejects.length, ...counts };
  });
}

/** DuckDB reads the numbered lines in parallel; quote and escape are a byte JSON never holds. */
function stagingSql(path: string): string {
  return `
  INSERT INTO staged_lines
  SELECT line_no, raw, NULL
  FROM read_csv('${path.replaceAll("'", "''")}', columns = {'line_no': 'BIGINT', 'raw': 'VARCHAR'},
                delim = chr(1), quote = chr(2), escape = chr(2), header = false, auto_detect = false,
                max_line_size = ${2 * 1024 * 1024})`;
}

const stagingFiles = new WeakMap<Db, string>();
let stagingCounter = 0;

/**
 * The staging tables live as long as the write connection, so statements on them stay prepared;
 * so does its staging file (removed when the process exits).
 */
async function prepareStaging(db: Db): Promise<string> {
  const existing = stagingFiles.get(db);
  if (existing) return existing;
  await db.run('CREATE TEMP TABLE IF NOT EXISTS staged_lines (line_no BIGINT, raw VARCHAR, pre_reason VARCHAR)');
  await db.run(`CREATE TEMP TABLE IF NOT EXISTS batch_records AS SELECT * FROM (${VALIDATION_SQL}) LIMIT 0`, {
    now: sqlTimestamp(new Date(0)),
  });
  // tmpfs when the machine has one: the staging file is written and read once per batch.
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = await mkdtemp(join(base, 'blackbox-staging-'));
  const file = join(dir, `lines-${process.pid}-${++stagingCounter}.csv`);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  stagingFiles.set(db, file);
  return file;
}

function sqlTimestamp(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
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
