import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Clock } from '../clock.js';
import { DatabaseLockedError, StoreOutOfMemoryError, StoreUnavailableError } from '../errors.js';
import { wrapConnection, type Db } from './db.js';
import { migrate, type MigrationTarget } from './migrate.js';
import { INGEST_WRITE, outOfMemoryMessage, type MemoryFacts, type WriteContext } from './out-of-memory.js';
import { classifyDuckDbError, KeyConflictError } from './duckdb-errors.js';

export type { Db, Params, Reader, Row } from './db.js';

export interface StoreOptions {
  /** Path of the DuckDB file, or ':memory:'. */
  path: string;
  clock: Clock;
  /** DuckDB memory_limit, e.g. '512MB'. Ingest of a large file streams within it. */
  memoryLimit?: string;
  /** Concurrent read connections (each serves one task at a time). */
  readers?: number;
  /** WAL size at which the store checkpoints at the next quiet moment (tests lower it). */
  checkpointWalBytes?: number;
  /** Rows per transaction when a migration copies a table (tests lower it). */
  migrationCopyRows?: number;
  /** How an operator raises memoryLimit (an environment variable, a flag), for the out-of-memory error. */
  memoryLimitHint?: string;
}

/**
 * The longest the writer waits, before each statement, for running queries to finish. Queries
 * answer an agent that is waiting; a write can wait a moment. Capped so that continuous queries
 * slow ingest down but never stall it (a watcher transaction has about a dozen statements).
 */
const WRITE_YIELD_MAX_MS = 50;

/**
 * The share of its time the writer may spend waiting for queries, over the last second. Without
 * it, tool clients that keep a query running at all times made every statement wait its 50 ms,
 * and ingest ran several times slower (reads starved writes); with it, reads still go first, but
 * writes keep most of their pace.
 */
const WRITE_YIELD_SHARE = 0.25;
const WRITE_YIELD_WINDOW_MS = 1000;

/**
 * Checkpoints (the WAL folded into the database file) are the writer's costliest moments, and the
 * queries running during one wait; DuckDB's default threshold (a 16 MB WAL) made them frequent
 * under steady ingest. The store checkpoints itself once the WAL passes
 * QUIET_CHECKPOINT_WAL_BYTES, waiting up to QUIET_CHECKPOINT_WAIT_MS for running queries to end;
 * DuckDB's own threshold stays as a backstop far above it. Bulk file ingest asks for a checkpoint
 * after every million executions it stores (checkpointSoon): their rows bypass the WAL, but until
 * a checkpoint their index entries stay in memory, and memory_limit would run out.
 */
const QUIET_CHECKPOINT_WAL_BYTES = 64 * 1024 * 1024;
const QUIET_CHECKPOINT_WAIT_MS = 2_000;
const DUCKDB_CHECKPOINT_THRESHOLD = '1GB';

/** Rows per transaction when a migration copies a table (CopyingMigration); a checkpoint follows every second range. */
const MIGRATION_COPY_ROWS = 500_000;

/**
 * The DuckDB database: the only module that knows the file, its lock and its migrations.
 * One process owns the file. Inside it, every write goes through one queue (`write`), so a
 * batch's rows, its quarantine entries and its checkpoint commit together or not at all; reads
 * use a small pool of their own connections so that a slow query never blocks ingest.
 */
export class Store {
  private writeTail: Promise<unknown> = Promise.resolve();
  private pendingWrites = 0;
  private readonly idleReaders: Db[] = [];
  private readonly waitingReaders: Array<(db: Db) => void> = [];
  private closed = false;
  private activeReads = 0;
  private readonly readsDone: Array<() => void> = [];
  private readonly closeHooks: Array<() => void> = [];
  private readonly beforeCloseHooks: Array<() => Promise<void>> = [];
  /** How long the writer has waited for queries since `start` (see WRITE_YIELD_SHARE). */
  private yieldWindow = { start: 0, waited: 0 };
  private checkpointQueued = false;

  /** Set while the database is being reopened (reopen): reads wait for it. */
  private reopening: Promise<void> | undefined;
  /** A reopen queued behind the writes (reopenBehindWrites), shared by whoever asks meanwhile. */
  private queuedReopen: Promise<void> | undefined;
  /**
   * Set when a reopen failed: the old connections are closed and no new ones could be made. Every
   * later read and write tries to open the file again first, and fails with this until it can.
   */
  private unavailable: StoreUnavailableError | undefined;
  /**
   * When this database was created (its first schema_version row, wall clock to the microsecond):
   * a reopen checks it, so that another database put at the path is not taken for this one.
   */
  private identity: string | undefined;
  private readonly readerCount: number;

  private constructor(
    private instance: DuckDBInstance,
    private writer: Db,
    readers: Db[],
    readonly path: string,
    readonly clock: Clock,
    private readonly config: Record<string, string>,
    private readonly checkpointWalBytes = QUIET_CHECKPOINT_WAL_BYTES,
    private readonly memoryLimitHint = 'Raise the memory limit.',
    private readonly migrationCopyRows = MIGRATION_COPY_ROWS,
  ) {
    this.idleReaders.push(...readers);
    this.readerCount = readers.length;
  }

  /** The instance and its connections: one writer (which yields to running reads) and `readers` readers. */
  private static async connect(
    path: string,
    config: Record<string, string>,
    readers: number,
    yieldToReads: () => Promise<void>,
  ): Promise<{ instance: DuckDBInstance; writer: Db; readers: Db[] }> {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, config);
    } catch (error) {
      throw translateOpenError(error, path);
    }
    const connections: DuckDBConnection[] = [];
    try {
      for (let i = 0; i <= readers; i++) connections.push(await instance.connect());
      for (const connection of connections) {
        await connection.run("SET TimeZone = 'UTC'");
        // Every time leaves the database as RFC 3339 UTC text.
        await connection.run("CREATE OR REPLACE TEMP MACRO iso(t) AS strftime(t, '%Y-%m-%dT%H:%M:%S.%gZ')");
      }
    } catch (error) {
      // Not leaked: a reopen tries again later, and an instance left behind would still hold the file.
      disconnect(instance, connections);
      throw error;
    }
    const [writer, ...readerConnections] = connections;
    return { instance, writer: wrapConnection(writer!, yieldToReads), readers: readerConnections.map((c) => wrapConnection(c)) };
  }

  static async open(options: StoreOptions): Promise<Store> {
    const path = options.path === ':memory:' ? ':memory:' : resolve(options.path);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const config: Record<string, string> = {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'true',
      // DuckDB's allocator hands freed memory back to the system from a thread of its own rather
      // than keeping it: a lower peak RSS on big ingests (README, Performance).
      allocator_background_threads: 'true',
    };
    if (options.memoryLimit) config.memory_limit = options.memoryLimit;
    if (path !== ':memory:') config.checkpoint_threshold = DUCKDB_CHECKPOINT_THRESHOLD;
    let store: Store | undefined;
    const { instance, writer, readers } = await Store.connect(path, config, options.readers ?? 2, () => store?.yieldToReads() ?? Promise.resolve());
    store = new Store(instance, writer, readers, path, options.clock, config, options.checkpointWalBytes, options.memoryLimitHint, options.migrationCopyRows);
    await migrate(store.migrationTarget());
    store.identity = await identityOf(store.writer);
    return store;
  }

  /** Runs `task` alone on the write connection inside one transaction. */
  write<T>(task: (db: Db) => Promise<T>, context: WriteContext = INGEST_WRITE): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    this.pendingWrites++;
    const result = this.writeTail.then(async () => {
      try {
        if (this.unavailable) await this.reopen();
        return await this.transaction(task, context);
      } finally {
        this.pendingWrites--;
        this.wakeReaders();
      }
    });
    this.writeTail = result.catch(() => undefined);
    return result;
  }

  private async transaction<T>(task: (db: Db) => Promise<T>, context: WriteContext): Promise<T> {
    await this.writer.run('BEGIN TRANSACTION');
    let committing = false;
    try {
      const value = await task(this.writer);
      committing = true;
      await this.writer.run('COMMIT');
      this.checkpointWhenQuiet();
      return value;
    } catch (error) {
      await this.writer.run('ROLLBACK').catch(() => undefined);
      const kind = classifyDuckDbError(error);
      const failure =
        kind.kind === 'out_of_memory' ? await this.outOfMemory(error, context)
        : kind.kind === 'key_conflict' ? new KeyConflictError(kind.key, error)
        : error;
      // A failed commit can leave DuckDB's in-memory tables damaged: a commit that ran out of
      // memory was seen followed by a checkpoint that failed with "Corrupted in-memory column"
      // and invalidated the database. A FATAL error has invalidated it already. Either way the
      // database is opened again from its file, where every committed write is intact. If that
      // fails, this write still reports its own failure; later calls report the reopen's.
      if (committing || kind.kind === 'invalidated') await this.reopen().catch(() => undefined);
      throw failure;
    }
  }

  /** The out-of-memory error for a failed write, with what the store held when it happened. */
  private async outOfMemory(error: unknown, context: WriteContext): Promise<StoreOutOfMemoryError> {
    const facts = await this.writer
      .one<MemoryFacts>(
        `SELECT current_setting('memory_limit') AS memory_limit,
                (SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'ART_INDEX')::DOUBLE AS index_bytes,
                (SELECT count(*) FROM executions)::DOUBLE AS executions`,
      )
      .catch(() => undefined);
    return new StoreOutOfMemoryError(outOfMemoryMessage(facts, this.memoryLimitHint, context), { cause: error });
  }

  /** Writes queued or running: HTTP ingest sheds load (503) above a limit instead of queueing without bound. */
  get queuedWrites(): number {
    return this.pendingWrites;
  }

  /** Runs `task` on a read connection of its own. */
  async read<T>(task: (db: Db) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('store is closed');
    while (this.reopening) await this.reopening;
    if (this.unavailable) await this.reopenBehindWrites({ unlessRecovered: true });
    const db = await this.acquireReader();
    try {
      return await task(db);
    } catch (error) {
      // A read that finds the database invalidated (FATAL) has it reopened behind the queued writes.
      if (classifyDuckDbError(error).kind === 'invalidated') this.reopenBehindWrites().catch(() => undefined);
      throw error;
    } finally {
      this.idleReaders.push(db);
      if (--this.activeReads === 0) for (const done of this.readsDone.splice(0)) done();
      this.wakeReaders();
    }
  }

  /**
   * Reads run side by side on the read connections, except while writes queue up behind the one
   * running: then one read at a time. DuckDB shares its threads among running queries, and two
   * queries at once against one write left ingest a third of the machine.
   */
  private mayStartRead(): boolean {
    return this.idleReaders.length > 0 && (this.activeReads === 0 || this.pendingWrites <= 1);
  }

  private acquireReader(): Promise<Db> {
    if (this.waitingReaders.length === 0 && this.mayStartRead()) {
      this.activeReads++;
      return Promise.resolve(this.idleReaders.pop()!);
    }
    return new Promise<Db>((resolve) => this.waitingReaders.push(resolve));
  }

  /** Hands idle read connections to waiting reads, as far as mayStartRead allows. */
  private wakeReaders(): void {
    while (this.waitingReaders.length > 0 && this.mayStartRead()) {
      this.activeReads++;
      this.waitingReaders.shift()!(this.idleReaders.pop()!);
    }
  }

  /**
   * Once the WAL has grown past the threshold, queues a checkpoint behind the writes already
   * queued; it waits for running queries to end (for a bounded time) before it starts. A failed
   * checkpoint changes nothing: the next commit tries again, and DuckDB's own threshold remains.
   */
  private checkpointWhenQuiet(): void {
    let walBytes: number;
    try {
      walBytes = statSync(`${this.path}.wal`).size;
    } catch {
      return;
    }
    if (walBytes >= this.checkpointWalBytes) this.checkpointSoon();
  }

  /** Queues a checkpoint behind the queued writes, taken when no query runs (or after a bounded wait). */
  checkpointSoon(): void {
    if (this.path === ':memory:' || this.checkpointQueued || this.closed) return;
    this.checkpointQueued = true;
    const checkpoint = this.writeTail.then(async () => {
      try {
        await this.waitForReads(QUIET_CHECKPOINT_WAIT_MS);
        await this.writer.connection.run('CHECKPOINT');
      } finally {
        this.checkpointQueued = false;
      }
    });
    this.writeTail = checkpoint.catch(() => undefined);
  }

  /**
   * Resolves when no query is running, or after `maxMs`, or at once when the writer has already
   * waited its share of the last second (WRITE_YIELD_SHARE).
   */
  private yieldToReads(maxMs = WRITE_YIELD_MAX_MS): Promise<void> {
    // Waiting delays every write queued behind this one too: with a backlog, writes go first.
    if (this.activeReads === 0 || this.pendingWrites > 1) return Promise.resolve();
    const now = performance.now();
    if (now - this.yieldWindow.start > WRITE_YIELD_WINDOW_MS) this.yieldWindow = { start: now, waited: 0 };
    const allowed = Math.min(maxMs, WRITE_YIELD_SHARE * WRITE_YIELD_WINDOW_MS - this.yieldWindow.waited);
    if (allowed <= 0) return Promise.resolve();
    return this.waitForReads(allowed).then(() => {
      this.yieldWindow.waited += performance.now() - now;
    });
  }

  /** Resolves when no query is running, or after `maxMs`. */
  private waitForReads(maxMs: number): Promise<void> {
    if (this.activeReads === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, maxMs);
      this.readsDone.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Runs `hook` as the store starts to close, while it still takes writes: for work held back to batch it. */
  beforeClose(hook: () => Promise<void>): void {
    this.beforeCloseHooks.push(hook);
  }

  /** Runs `hook` when the store closes (after its last write): for resources tied to its connections. */
  onClose(hook: () => void): void {
    this.closeHooks.push(hook);
  }

  /**
   * Reopens the database behind the queued writes (from a read, which is outside the write queue).
   * `unlessRecovered`: skipped if a write ahead of it has reopened the database meanwhile.
   */
  private reopenBehindWrites({ unlessRecovered = false } = {}): Promise<void> {
    if (!this.queuedReopen) {
      const reopened = this.writeTail.then(() => (unlessRecovered && !this.unavailable ? undefined : this.reopen()));
      this.writeTail = reopened.catch(() => undefined);
      this.queuedReopen = reopened.finally(() => (this.queuedReopen = undefined));
    }
    return this.queuedReopen;
  }

  /**
   * Closes the DuckDB instance and opens the file again, once the reads running now have ended
   * (new ones wait). Called from within the write queue, so no write runs meanwhile. Fails with
   * StoreUnavailableError, and leaves the store unavailable, when the file cannot be opened.
   */
  private async reopen(): Promise<void> {
    // An in-memory database has no file to come back from.
    if (this.path === ':memory:') return;
    let done!: () => void;
    this.reopening = new Promise<void>((resolve) => (done = resolve));
    try {
      // Every reader back in the pool.
      while (this.activeReads > 0 || this.idleReaders.length < this.readerCount) await new Promise((resolve) => setTimeout(resolve, 5));
      // Closing an invalidated instance works (checked after a FATAL checkpoint error). After a
      // failed reopen the connections are closed already.
      if (!this.unavailable) this.closeConnections();
      let fresh: Awaited<ReturnType<typeof Store.connect>>;
      try {
        // DuckDB would create an empty database in place of a file that has gone, and every
        // query would then fail on missing tables.
        if (!existsSync(this.path)) throw new ReopenRefused('the file no longer exists');
        fresh = await Store.connect(this.path, this.config, this.readerCount, () => this.yieldToReads());
        const identity = await identityOf(fresh.writer).catch(() => undefined);
        if (identity !== this.identity) {
          disconnect(fresh.instance, [fresh.writer, ...fresh.readers].map((db) => db.connection));
          throw new ReopenRefused(`another database is now at that path: created ${identity ?? 'by something else'}, where this one was created ${this.identity}`);
        }
      } catch (error) {
        const failure = classifyDuckDbError(error);
        const why =
          error instanceof ReopenRefused ? error.message
          : failure.kind === 'locked' ? `another process holds it: ${failure.holder}, PID ${failure.pid}`
          : failure.kind === 'out_of_memory' ? 'DuckDB ran out of its memory limit opening it'
          : 'DuckDB could not open it';
        this.unavailable = new StoreUnavailableError(
          `The database ${this.path} could not be opened again after a failed write (${why}). ` +
            'Every write committed before is in the file this store opened there. Fix the cause (a moved, deleted or replaced file, the disk, its permissions, ' +
            'another process holding it): the next read or write opens it again. Or restart mcp-blackbox.',
          { cause: error },
        );
        throw this.unavailable;
      }
      this.instance = fresh.instance;
      this.writer = fresh.writer;
      this.idleReaders.splice(0, this.idleReaders.length, ...fresh.readers);
      this.unavailable = undefined;
    } finally {
      this.reopening = undefined;
      done();
      this.wakeReaders();
    }
  }

  /** Closes the connections and the instance (the readers must all be idle). */
  private closeConnections(): void {
    disconnect(this.instance, [this.writer, ...this.idleReaders].map((db) => db.connection));
  }

  /** Waits for queued writes, then releases the file lock. */
  /**
   * Closes once, however many callers ask (a stdio server's transport closing and its stdin
   * ending both do): a second call waits for the first, never closes the connections under the
   * work the first one's hooks are still finishing (the alert engine's last evaluation).
   */
  /** The store as the migration runner sees it (migrate.ts). */
  private migrationTarget(): MigrationTarget {
    return { path: this.path, writer: this.writer, write: (task, context) => this.write(task, context), checkpointSoon: () => this.checkpointSoon(), migrationCopyRows: this.migrationCopyRows };
  }

  close(): Promise<void> {
    return (this.closing ??= this.closeOnce());
  }

  private closing: Promise<void> | undefined;

  private async closeOnce(): Promise<void> {
    if (this.closed) return;
    for (const hook of this.beforeCloseHooks.splice(0)) await hook().catch(() => undefined);
    this.closed = true;
    await this.writeTail;
    for (const hook of this.closeHooks.splice(0)) hook();
    if (this.unavailable) return; // its connections are closed already
    if (this.path !== ':memory:') await this.writer.run('CHECKPOINT').catch(() => undefined);
    this.closeConnections();
  }

}

/** Why a reopen refused the file it found, in our words (DuckDB's own failures are classified). */
class ReopenRefused extends Error {}

/** Closes the connections, then the instance, which releases the file. */
function disconnect(instance: DuckDBInstance, connections: DuckDBConnection[]): void {
  for (const connection of connections) connection.closeSync();
  instance.closeSync();
}

/** See Store.identity. */
async function identityOf(db: Db): Promise<string | undefined> {
  const row = await db.one<{ created: string | null }>('SELECT CAST(min(applied_at) AS VARCHAR) AS created FROM schema_version');
  return row?.created ?? undefined;
}

function translateOpenError(error: unknown, path: string): Error {
  const failure = classifyDuckDbError(error);
  if (failure.kind === 'locked') {
    return new DatabaseLockedError(
      `The database ${path} is in use by another process (${failure.holder}, PID ${failure.pid}). ` +
        'DuckDB allows one writing process per file: stop that process (for example a running ' +
        '`mcp-blackbox serve`), or use another file with --db.',
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}
