import { createReadStream, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { glob, isDynamicPattern } from 'tinyglobby';
import { UserInputError } from '../errors.js';
import type { Store } from '../store/store.js';
import { addBatch, emptySummary, ingestLines, type IngestSummary } from './batch.js';
import { splitLines } from './lines.js';

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

export function openLogFile(path: string, start = 0): Readable {
  const stream = createReadStream(path, { start, highWaterMark: 1 << 20 });
  return path.toLowerCase().endsWith('.gz') ? stream.pipe(createGunzip()) : stream;
}

export interface FileIngestOptions {
  batchBytes?: number;
  onFile?: (path: string, summary: FileIngestSummary) => void;
}

/** Ingests whole files. Bad lines are quarantined; a file that fails to read is reported, not fatal. */
export async function ingestFiles(
  store: Store,
  inputs: readonly string[],
  options: FileIngestOptions = {},
): Promise<FileIngestSummary> {
  const paths = await expandInputs(inputs);
  const summary: FileIngestSummary = { ...emptySummary(), failed: [] };
  for (const path of paths) {
    summary.files++;
    try {
      const batches = splitLines(openLogFile(path), {
        trailingPartialLine: 'emit',
        batchBytes: options.batchBytes,
      });
      for await (const batch of batches) addBatch(summary, await ingestLines(store, batch, path));
    } catch (error) {
      summary.failed.push({ path, error: error instanceof Error ? error.message : String(error) });
    }
    options.onFile?.(path, summary);
  }
  return summary;
}
