import { createHash } from 'node:crypto';
import { open, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { loadCheckpoint, type Checkpoint } from '../store/checkpoints.js';
import type { Store } from '../store/store.js';
import { ingestLines, type BatchResult } from './batch.js';
import { splitLines, type LineBlock } from './lines.js';
import { readChunks } from './files.js';

/** Live log files and their rotated copies (`app.jsonl.1`): a rotated file may still hold unread lines. */
export const TAILED_FILE_PATTERN = /\.(jsonl|ndjson)(\.\d+)?$/i;

/** The fingerprint covers the first line, capped: a file is the same file while its first line is. */
const FINGERPRINT_MAX_BYTES = 1024;

export interface TailerOptions {
  dirs: readonly string[];
  /** Safety sweep for missed file events, in ms. */
  sweepIntervalMs?: number;
  /**
   * Least time between two reads of a file that file events trigger, in ms (default 1000). A busy
   * writer appends many times a second; reading each time would commit many small transactions,
   * each with the same fixed cost, and slow every query running meanwhile. Events that arrive
   * while a read waits join it, so lines are committed at most this long after they are written.
   */
  batchWindowMs?: number;
  onBatch?: (path: string, result: BatchResult) => void;
  onError?: (path: string, error: unknown) => void;
}

/**
 * Where a tailer stores its lines and keeps its read positions. DuckDB saves a checkpoint in the
 * transaction of the rows it covers; a store without such transactions saves it right after them
 * (a crash in between reads those lines again, which idempotent ingest counts as duplicates).
 */
export interface TailSink {
  loadCheckpoint(fingerprint: string): Promise<Checkpoint | undefined>;
  ingest(block: LineBlock, source: string, checkpoint: Checkpoint): Promise<BatchResult>;
}

export function duckdbTailSink(store: Store): TailSink {
  return {
    loadCheckpoint: (fingerprint) => loadCheckpoint(store, fingerprint),
    ingest: (block, source, checkpoint) => ingestLines(store, block, source, { checkpoint }),
  };
}

interface Fingerprint {
  value: string;
  bytes: number;
}

/**
 * Tails NDJSON files in directories into the store. Each file's progress is a checkpoint keyed by
 * the file's fingerprint, saved with the rows it covers (TailSink), so a restart neither re-reads
 * nor skips a line. Rotation by rename keeps the fingerprint (the renamed file resumes
 * where it was); a new file under the old name, or a copytruncate (the file shrinks below its
 * offset), starts from 0, and idempotent ingest keeps counts right when lines are read twice.
 * A last line without its newline is left for the next pass.
 */
export class LogTailer {
  private watcher: FSWatcher | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly queues = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, Promise<void>>(); // a queued read not yet started
  private readonly lastRead = new Map<string, number>();
  private readonly seen = new Map<string, string>(); // path -> size:mtime at last drain
  private stopped = false;
  private readonly sink: TailSink;

  constructor(target: Store | TailSink, private readonly options: TailerOptions) {
    this.sink = 'loadCheckpoint' in target ? target : duckdbTailSink(target);
  }

  async start(): Promise<void> {
    const dirs = this.options.dirs.map((d) => resolve(d));
    this.watcher = watch(dirs, {
      ignoreInitial: false,
      ignored: (path, stats) => Boolean(stats?.isFile()) && !TAILED_FILE_PATTERN.test(path),
    });
    this.watcher.on('add', (path) => void this.drain(path, this.batchWindowMs));
    this.watcher.on('change', (path) => void this.drain(path, this.batchWindowMs));
    this.watcher.on('error', (error) => this.options.onError?.(dirs.join(','), error));
    await new Promise<void>((ready) => this.watcher!.once('ready', () => ready()));
    this.sweepTimer = setInterval(() => void this.sweep(), this.options.sweepIntervalMs ?? 1000);
    this.sweepTimer.unref();
    await this.drainAll();
  }

  /** Reads every watched file up to its last complete line; resolves when all are committed. */
  async drainAll(): Promise<void> {
    const files: string[] = [];
    for (const dir of this.options.dirs) {
      const entries = await readdir(resolve(dir), { withFileTypes: true }).catch(() => []);
      for (const e of entries) if (e.isFile() && TAILED_FILE_PATTERN.test(e.name)) files.push(join(resolve(dir), e.name));
    }
    // Rotated copies first: they hold the oldest lines.
    files.sort((a, b) => Number(/\.\d+$/.test(b)) - Number(/\.\d+$/.test(a)) || a.localeCompare(b));
    for (const file of files) await this.drain(file);
  }

  private get batchWindowMs(): number {
    return this.options.batchWindowMs ?? 1000;
  }

  /**
   * Drains one file; reads of the same file run one after another, and a call made while a read
   * is queued joins it. `minGapMs` spaces reads triggered by file events (see batchWindowMs).
   */
  drain(path: string, minGapMs = 0): Promise<void> {
    const queued = this.waiting.get(path);
    if (queued) return queued;
    const previous = this.queues.get(path) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        const gap = minGapMs - (Date.now() - (this.lastRead.get(path) ?? 0));
        if (gap > 0 && !this.stopped) await new Promise((r) => setTimeout(r, gap));
        this.waiting.delete(path);
        this.lastRead.set(path, Date.now());
        await this.drainNow(path);
      })
      .catch((error) => this.options.onError?.(path, error));
    this.waiting.set(path, next);
    this.queues.set(path, next);
    return next;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.watcher?.close();
    await Promise.all(this.queues.values());
  }

  private async sweep(): Promise<void> {
    for (const dir of this.options.dirs) {
      const entries = await readdir(resolve(dir)).catch(() => [] as string[]);
      for (const name of entries) {
        if (!TAILED_FILE_PATTERN.test(name)) continue;
        const path = join(resolve(dir), name);
        const info = await stat(path).catch(() => undefined);
        if (info && this.seen.get(path) !== `${info.size}:${info.mtimeMs}`) void this.drain(path, this.batchWindowMs);
      }
    }
  }

  private async drainNow(path: string): Promise<void> {
    if (this.stopped) return;
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) return;
    this.seen.set(path, `${info.size}:${info.mtimeMs}`);
    const fingerprint = await fingerprintOf(path);
    if (!fingerprint) return; // no complete first line yet

    const checkpoint = await this.sink.loadCheckpoint(fingerprint.value);
    // A file smaller than its offset was truncated in place: read it again from the start.
    const resume = checkpoint && checkpoint.byteOffset <= info.size ? checkpoint : undefined;
    if (resume && resume.byteOffset === info.size && resume.path === path) return;

    const batches = splitLines(readChunks(path, resume?.byteOffset ?? 0), {
      startOffset: resume?.byteOffset ?? 0,
      startLineNo: resume?.lineNo ?? 0,
      trailingPartialLine: 'hold',
    });
    for await (const batch of batches) {
      const result = await this.sink.ingest(batch, path, {
        fingerprint: fingerprint.value, fingerprintBytes: fingerprint.bytes, path, byteOffset: batch.endOffset, lineNo: batch.endLineNo,
      });
      this.options.onBatch?.(path, result);
    }
  }
}

/** SHA-256 of the file's first line (capped), or undefined while that line is incomplete. */
export async function fingerprintOf(path: string): Promise<Fingerprint | undefined> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(FINGERPRINT_MAX_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, FINGERPRINT_MAX_BYTES, 0);
    const newline = buffer.subarray(0, bytesRead).indexOf(0x0a);
    const bytes = newline === -1 ? (bytesRead === FINGERPRINT_MAX_BYTES ? bytesRead : 0) : newline + 1;
    if (bytes === 0) return undefined;
    return { value: createHash('sha256').update(buffer.subarray(0, bytes)).digest('hex'), bytes };
  } finally {
    await handle.close();
  }
}
