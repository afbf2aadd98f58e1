import type { Db, Store } from '../store/store.js';
import { mergeBatch, type MergeCounts } from '../store/merge.js';
import type { LineBlock } from './lines.js';
import { validationQuery } from './validate-sql.js';

export interface BatchResult extends MergeCounts {
  lines: number;
}

const VALIDATION_SQL = validationQuery();

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
  return store.write(async (db) => {
    await prepareStaging(db);
    await db.runPrepared('DELETE FROM staged_lines');
    await db.runPrepared(SPLIT_SQL, { first: block.firstLineNo, text: block.text });
    for (const reject of block.rejects) {
      await db.run('INSERT INTO staged_lines VALUES ($lineNo, $head, $reason)', { ...reject });
    }
    const lines = await db.one<{ n: number }>('SELECT count(*)::INTEGER AS n FROM staged_lines');
    await db.runPrepared('DELETE FROM batch_records');
    await db.runPrepared(`INSERT INTO batch_records ${VALIDATION_SQL}`, { now: sqlTimestamp(store.clock.now()) });
    const counts = await mergeBatch(db, source);
    if (afterMerge) await afterMerge(db);
    return { lines: lines?.n ?? 0, ...counts };
  });
}

/** DuckDB splits and numbers the lines itself; blank lines keep their numbers but are dropped. */
const SPLIT_SQL = `
  INSERT INTO staged_lines
  SELECT CAST($first + i - 1 AS BIGINT), rtrim(raw, chr(13)), NULL
  FROM (SELECT unnest(l) AS raw, unnest(range(1, len(l) + 1)) AS i
        FROM (SELECT string_split($text, chr(10)) AS l))
  WHERE trim(raw) <> ''`;

const prepared = new WeakSet<Db>();

/** The staging tables live as long as the write connection, so statements on them stay prepared. */
async function prepareStaging(db: Db): Promise<void> {
  if (prepared.has(db)) return;
  await db.run('CREATE TEMP TABLE IF NOT EXISTS staged_lines (line_no BIGINT, raw VARCHAR, pre_reason VARCHAR)');
  await db.run(`CREATE TEMP TABLE IF NOT EXISTS batch_records AS SELECT * FROM (${VALIDATION_SQL}) LIMIT 0`, {
    now: sqlTimestamp(new Date(0)),
  });
  prepared.add(db);
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
