import { createReadStream, statSync } from 'node:fs';
import { open, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import { glob, isDynamicPattern } from 'tinyglobby';
import { UserInputError } from '../errors.js';
import { ROW_GROUP_ROWS } from '../store/merge.js';
import { commitFileChunks, type SpooledChunk, type StorableBatch } from '../store/ingest-write.js';
import type { Clock } from '../clock.js';
import type { Store } from '../store/store.js';
import { addBatch, emptySummary, type BatchResult, type IngestSummary } from './batch.js';
import { prepareBatch } from './prepare.js';
import { splitLines } from './lines.js';
import { SCRATCH_FILE_MODE, scratchDir } from '../scratch.js';

/** File names ingest reads: NDJSON, plain or gzip-compressed. */
export const LOG_FILE_PATTERN = /\.(jsonl|ndjson)(\.gz)?$/i;

export interface FileFailure {
  path: string;
  error: string;
}

export interface FileIngestSummary extends IngestSummary {
  /** Files that could not be read to the end (their good lines up to the failure are kept). */
  failed: FileFailure[];
}

/**
 * Expands the command-line inputs (files, directories searched recursively, globs) to the log
 * files they name, sorted so that ingest order, and so tie-breaking, is reproducible.
 * An input that names nothing is an error: a typo must not look like an empty fleet.
 */
export async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const input of inputs) {
    if (isDynamicPattern(input)) {
      const matches = (await glob(input, { absolute: true, onlyFiles: true })).filter((p) => LOG_FILE_PATTERN.test(p));
      if (matches.length === 0) throw new UserInputError(`No log files (*.jsonl, *.ndjson, *.gz) match ${input}`);
      matches.forEach((m) => found.add(m));
      continue;
    }
    let stat;
    try {
      stat = statSync(input);
    } catch {
      throw new UserInputError(`No such file or directory: ${input}`);
    }
    if (stat.isDirectory()) {
      const matches = await glob('**/*.{jsonl,ndjson,jsonl.gz,ndjson.gz}', { cwd: input, absolute: true, caseSensitiveMatch: false });
      matches.forEach((m) => found.add(m));
    } else {
      found.add(resolve(input));
    }
  }
  return [...found].sort();
}

/** Chunks of a log file, gunzipped when it ends in .gz; each chunk is valid until the next is read. */
export function openLogFile(path: string, start = 0): AsyncIterable<Buffer> {
  if (path.toLowerCase().endsWith('.gz')) return createReadStream(path, { start, highWaterMark: 1 << 20 }).pipe(createGunzip());
  return readChunks(path, start);
}

/**
 * Reads into one reused buffer: a fresh buffer per chunk would make the kernel fault in new
 * pages for every megabyte read, which costs more than the read itself on this kind of machine.
 */
export async function* readChunks(path: string, start = 0, chunkBytes = 4 * 1024 * 1024): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r');
  const buffer = Buffer.allocUnsafe(chunkBytes);
  try {
    let position = start;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

export interface FileIngestOptions {
  batchBytes?: number;
  /** Valid records per transaction (several batches); see BatchLoad for why it is large. */
  transactionRecords?: number;
  onFile?: (path: string, summary: FileIngestSummary) => void;
  /** After each chunk read and validated: how far into the file (decompressed bytes) and how many lines. */
  onRead?: (path: string, read: { bytes: number; lines: number }) => void;
  /** After each committed transaction: progress, and what it stored and held back. */
  onTransaction?: (path: string, result: BatchResult) => void;
  /** Rows that new executions are stored in multiples of, but for a file's last transaction (MergeOptions). */
  alignStoredRows?: number;
  /** Executions stored between the checkpoints bulk ingest asks for (see CHECKPOINT_EVERY_ROWS). */
  checkpointEveryRows?: number;
}

/**
 * Bulk ingest asks for a checkpoint after this many stored executions. Until a checkpoint, a
 * transaction's index entries stay in memory (the 10M ingest ran out of a 384 MB memory_limit at
 * 3.3M executions without them); but each checkpoint writes the whole primary-key index again,
 * so its cost grows with the table (at 4M executions about 2.5 s each). One per transaction
 * (250k) made a 4M ingest take 111 s; one per million, 84 s at a lower peak RSS (851 MiB).
 */
const CHECKPOINT_EVERY_ROWS = 1_000_000;
/** Two row groups: enough that most rows are written straight to the file, not to the WAL. */
const DEFAULT_TRANSACTION_RECORDS = 250_000;
/**
 * Lines per validated chunk. Validation runs on the main thread between the store's statements,
 * so a chunk is kept small (tens of milliseconds of work) to never hold DuckDB waiting for long.
 */
const SPOOL_CHUNK_BYTES = 8 * 1024 * 1024;

/** Ingests whole files. Bad lines are quarantined; a file that fails to read is reported, not fatal. */
export async function ingestFiles(
  store: Store,
  inputs: readonly string[],
  options: FileIngestOptions = {},
): Promise<FileIngestSummary> {
  const paths = await expandInputs(inputs);
  const summary: FileIngestSummary = { ...emptySummary(), failed: [] };
  // Counted across files: a directory of many small files must not checkpoint once per file.
  const checkpoints = { every: options.checkpointEveryRows ?? CHECKPOINT_EVERY_ROWS, storedSince: 0 };
  for (const path of paths) {
    summary.files++;
    try {
      await ingestFile(store, path, summary, options, checkpoints);
    } catch (error) {
      summary.failed.push({ path, error: error instanceof Error ? error.message : String(error) });
    }
    options.onFile?.(path, summary);
  }
  return summary;
}

/**
 * A file flows through two stages that run side by side: JavaScript reads and validates chunks
 * and spools the valid records to disk (page cache, not process memory), staying up to two
 * transactions ahead; the store loads each transaction's chunks with one read_json on all of
 * DuckDB's threads, merges and commits. Validation thus overlaps the merge and the commit,
 * which use DuckDB's threads unevenly, instead of competing with the parallel read.
 */
async function ingestFile(
  store: Store,
  path: string,
  summary: IngestSummary,
  options: FileIngestOptions,
  checkpoints: { every: number; storedSince: number },
): Promise<void> {
  const transactionRecords = options.transactionRecords ?? DEFAULT_TRANSACTION_RECORDS;
  const alignStoredRows = options.alignStoredRows ?? ROW_GROUP_ROWS;
  const spool = await scratchDir('spool');
  const queue: SpooledChunk[] = [];
  let queuedLines = 0;
  let reading = true;
  let readError: unknown;
  let stopped = false;
  const storeWake = wakeUp();
  const readerWake = wakeUp();

  const reader = (async () => {
    try {
      let n = 0;
      const batches = splitLines(openLogFile(path), { trailingPartialLine: 'emit', batchBytes: options.batchBytes ?? SPOOL_CHUNK_BYTES });
      for await (const batch of batches) {
        if (stopped) break;
        const prepared = prepareBatch(batch, store.clock.now());
        const chunk: SpooledChunk = { path: join(spool.path, `chunk-${n++}.ndjson`), valid: prepared.valid, rejects: prepared.rejects, toolLists: prepared.toolLists };
        try {
          if (prepared.valid > 0) await writeFile(chunk.path, prepared.staging, { mode: SCRATCH_FILE_MODE });
        } finally {
          prepared.release();
        }
        queue.push(chunk);
        queuedLines += chunk.valid + chunk.rejects.length + chunk.toolLists.length;
        options.onRead?.(path, { bytes: batch.endOffset, lines: batch.endLineNo });
        storeWake.notify();
        while (!stopped && queuedLines >= 2 * transactionRecords) await readerWake.wait();
      }
    } catch (error) {
      readError = error;
    } finally {
      reading = false;
      storeWake.notify();
    }
  })();

  // Records the last transaction deferred (a partial row group, see MergeOptions); the first
  // transaction starts clean, the file's last one stores them.
  let carried = 0;
  try {
    for (;;) {
      while (reading && queuedLines < transactionRecords) await storeWake.wait();
      if (queue.length === 0 && carried === 0) break;
      const taken: SpooledChunk[] = [];
      let lines = 0;
      while (queue.length > 0 && lines < transactionRecords) {
        const chunk = queue.shift()!;
        taken.push(chunk);
        lines += chunk.valid + chunk.rejects.length + chunk.toolLists.length;
      }
      queuedLines -= lines;
      readerWake.notify();
      const last = !reading && queue.length === 0;
      const result = await commitFileChunks(store, taken, { source: path, carryDeferred: carried > 0, alignStoredRows: last ? undefined : alignStoredRows });
      carried = result.deferred;
      addBatch(summary, result);
      options.onTransaction?.(path, result);
      checkpoints.storedSince += result.inserted + result.updated;
      if (checkpoints.storedSince >= checkpoints.every) {
        checkpoints.storedSince = 0;
        store.checkpointSoon();
      }
      await Promise.all(taken.map((c) => rm(c.path, { force: true })));
    }
  } finally {
    stopped = true;
    readerWake.notify();
    await reader;
    spool.remove();
  }
  // A read error ends the file, but the lines read before it were committed above.
  if (readError !== undefined) throw readError;
}

/** A one-waiter wake-up: `wait()` resolves at the next `notify()`; a notify with no waiter is dropped (waiters re-check their condition). */
function wakeUp(): { wait: () => Promise<void>; notify: () => void } {
  let wake: (() => void) | undefined;
  return {
    wait: () => new Promise<void>((resolve) => (wake = resolve)),
    notify: () => {
      const w = wake;
      wake = undefined;
      w?.();
    },
  };
}

/** A store that takes validated batches one at a time and confirms each (the ClickHouse store). */
export interface BatchSink {
  readonly clock: Clock;
  commit(batch: StorableBatch, source: string): Promise<BatchResult>;
}

/** Lines per batch sent to a BatchSink: one insert each, so few enough parts for ClickHouse to merge. */
const SINK_BATCH_BYTES = 32 * 1024 * 1024;

/**
 * Ingests whole files into a BatchSink: the next batch is read and validated while the last one
 * is stored, one ahead. Bad lines are quarantined; a file that fails to read is reported.
 */
export async function ingestFilesInto(sink: BatchSink, inputs: readonly string[], options: Pick<FileIngestOptions, 'onRead' | 'batchBytes'> = {}): Promise<FileIngestSummary> {
  const paths = await expandInputs(inputs);
  const summary: FileIngestSummary = { ...emptySummary(), failed: [] };
  for (const path of paths) {
    summary.files++;
    let pending: Promise<void> | undefined;
    try {
      for await (const batch of splitLines(openLogFile(path), { trailingPartialLine: 'emit', batchBytes: options.batchBytes ?? SINK_BATCH_BYTES })) {
        const prepared = prepareBatch(batch, sink.clock.now());
        await pending;
        pending = sink.commit(prepared, path).then((result) => addBatch(summary, result)).finally(() => prepared.release());
        // Awaited once the next batch is read; until then a failure must not count as unhandled.
        pending.catch(() => undefined);
        options.onRead?.(path, { bytes: batch.endOffset, lines: batch.endLineNo });
      }
      await pending;
    } catch (error) {
      await pending?.catch(() => undefined);
      summary.failed.push({ path, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return summary;
}
