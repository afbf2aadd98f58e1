import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { SchemaTooNewError, StoreOutOfMemoryError, StoreUnavailableError } from '../../src/errors.js';
import { traceExecution } from '../../src/analytics/trace.js';
import { duckdbAnalytics } from '../../src/analytics/duckdb/index.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { blockFromText } from '../../src/ingest/lines.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { Store } from '../../src/store/store.js';
import { outOfMemoryMessage } from '../../src/store/out-of-memory.js';
import { parseByteSize } from '../../src/byte-size.js';
import { count, lines, openTestStore, record, tempDir, TEST_NOW, writeUntilCommitFails } from '../helpers.js';

const clock = fixedClock(new Date(TEST_NOW));

/** Opens the closed database at `path` afresh and checks the rows of writeUntilCommitFails's table. */
async function expectFillerRowsAfterReopen(path: string, rows: number): Promise<void> {
  const reopened = await Store.open({ path, clock });
  try {
    expect(await count(reopened, 'SELECT count(*) FROM filler')).toBe(rows);
  } finally {
    await reopened.close();
  }
}

/**
 * Moves a store's file away (and puts another in its place with `replace`), writes until a commit
 * fails, and expects reads and writes to fail with `unavailable` until the file is back; then the
 * store goes on, with every committed row.
 */
async function expectRecoveryAfterFileSwap(unavailable: RegExp, replace?: (path: string) => Promise<void>): Promise<void> {
  const path = join(tempDir(), 'swapped.duckdb');
  const moved = `${path}.moved`;
  const store = await Store.open({ path, clock, memoryLimit: '24MB' });
  const putBack = () => {
    rmSync(path, { force: true });
    renameSync(moved, path);
  };
  let committed = 0;
  try {
    // The open instance keeps writing to the file it opened; only a reopen looks for the path.
    renameSync(path, moved);
    await replace?.(path);
    let failure: unknown;
    ({ committed, failure } = await writeUntilCommitFails(store));
    // The write that failed reports its own failure, not the reopen's.
    expect(failure).toBeInstanceOf(StoreOutOfMemoryError);
    await expect(count(store, 'SELECT count(*) FROM filler')).rejects.toThrow(StoreUnavailableError);
    await expect(count(store, 'SELECT count(*) FROM filler')).rejects.toThrow(unavailable);
    await expect(store.write((db) => db.run(`INSERT INTO filler VALUES ('lost', 'x')`))).rejects.toThrow(unavailable);

    putBack();
    expect(await count(store, 'SELECT count(*) FROM filler')).toBe(committed);
    await store.write((db) => db.run(`INSERT INTO filler VALUES ('after', 'x')`));
  } finally {
    if (existsSync(moved)) putBack();
    await store.close();
  }
  await expectFillerRowsAfterReopen(path, committed + 1);
}

describe('Store', () => {
  it('a write that runs out of the memory limit is rolled back and says how to raise it; the same lines go in once it is raised', async () => {
    // 16MB is below the 32 MiB buffer DuckDB's JSON reader takes for a batch, so the load fails every time.
    const store = await Store.open({ path: join(tempDir(), 'small.duckdb'), clock, memoryLimit: '16MB', memoryLimitHint: 'Raise it with TEST_LIMIT.' });
    try {
      const block = blockFromText(lines(record('m1'), record('m2')).trimEnd());
      const failed = ingestLines(store, block, 'test');
      await expect(failed).rejects.toBeInstanceOf(StoreOutOfMemoryError);
      await expect(failed).rejects.toThrow(/ran out of its memory limit \(15\.\d MiB\) while writing; the batch was rolled back.*Raise it with TEST_LIMIT\. Ingest is idempotent/s);
      // DuckDB's own text stays out of the message, kept as the cause for the log.
      const error = (await failed.catch((e: unknown) => e)) as Error;
      expect(error.message).not.toMatch(/Out of Memory Error/);
      expect(String((error.cause as Error).message)).toMatch(/^Out of Memory Error/);
      expect(await count(store, 'SELECT count(*) FROM executions')).toBe(0);
      await store.write((db) => db.run("SET memory_limit = '256MB'"));
      expect(await ingestLines(store, block, 'test')).toMatchObject({ inserted: 2, quarantined: {} });
    } finally {
      await store.close();
    }
  });

  it('a commit that runs out of memory fails as out of memory, and the store goes on from the database reopened, with every committed write', async () => {
    // With 24MB and 20,000 keyed rows a transaction, DuckDB runs out of memory in COMMIT
    // ("Failed to commit: could not allocate block"). With this client alone that left a damaged
    // in-memory table in three runs of four, and the next checkpoint invalidated the database;
    // so the store reopens the file after any failed commit.
    const path = join(tempDir(), 'commit.duckdb');
    const store = await Store.open({ path, clock, memoryLimit: '24MB', memoryLimitHint: 'Raise it with TEST_LIMIT.' });
    let committed = 0;
    try {
      let failure: unknown;
      ({ committed, failure } = await writeUntilCommitFails(store));
      expect(failure).toBeInstanceOf(StoreOutOfMemoryError);
      expect(String(failure)).toMatch(/Raise it with TEST_LIMIT\. /);
      expect(((failure as Error).cause as Error).message).toMatch(/Failed to commit: /);
      expect(committed).toBeGreaterThan(0);
      store.checkpointSoon();
      expect(await count(store, 'SELECT count(*) FROM filler')).toBe(committed);
      await store.write((db) => db.run(`INSERT INTO filler VALUES ('after', 'x')`));
    } finally {
      await store.close();
    }
    await expectFillerRowsAfterReopen(path, committed + 1);
  });

  it('when the file cannot be opened again after a failed commit, calls say so until it can, and nothing committed is lost', async () => {
    await expectRecoveryAfterFileSwap(
      /could not be opened again after a failed write \(the file no longer exists\)\. Every write committed before is in the file this store opened there\. Fix the cause/,
    );
  });

  it('a reopen refuses another database put at the path, and takes its own back', async () => {
    await expectRecoveryAfterFileSwap(
      /could not be opened again after a failed write \(another database is now at that path: created \S+ \S+, where this one was created \S+ \S+\)/,
      // Another mcp-blackbox database, created later, in its place.
      async (path) => (await Store.open({ path, clock })).close(),
    );
  });

  it('blames random execution ids only when the indexes hold a large share of the limit', () => {
    const indexBound = outOfMemoryMessage({ memory_limit: '366.2 MiB', index_bytes: 214 * 2 ** 20, executions: 2_088_960 }, 'Raise it.');
    expect(indexBound).toContain('Its indexes held 214 MB of it, with 2,088,960 executions stored. Random execution ids (such as UUIDv4)');
    expect(indexBound).toMatch(/Raise it\. Ingest is idempotent: send or ingest the same lines again once the limit is raised\.$/);
    const other = outOfMemoryMessage({ memory_limit: '366.2 MiB', index_bytes: 20 * 2 ** 20, executions: 100_000 }, 'Raise it.');
    expect(other).toContain('Its indexes held 20 MB of it, with 100,000 executions stored. Raise it.');
    expect(other).not.toContain('Random execution ids');
    expect(outOfMemoryMessage(undefined, 'Raise it.')).toMatch(/^DuckDB ran out of its memory limit while writing; .* Raise it\./);
  });

  it('reads sizes as DuckDB prints its settings', () => {
    expect(parseByteSize('366.2 MiB')).toBeCloseTo(366.2 * 2 ** 20);
    expect(parseByteSize('1.0 GiB')).toBe(2 ** 30);
    expect(parseByteSize('384.0 MB')).toBe(384e6);
    expect(parseByteSize('unlimited')).toBeUndefined();
  });

  it('applies migrations at open and records the schema version', async () => {
    const store = await openTestStore();
    const row = await store.read((db) => db.one<{ v: number }>('SELECT max(version) AS v FROM schema_version'));
    expect(row?.v).toBe(MIGRATIONS.length);
    const tables = await store.read((db) => db.all<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"));
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['executions', 'steps', 'quarantine', 'ingest_checkpoints', 'tools', 'schema_version']));
  });

  it('upgrades a version 3 database in place: failed executions get the connector of their first failed step, a failures table, session and run spans, and the hourly rollup', async () => {
    const path = join(tempDir(), 'v3.duckdb');
    const instance = await DuckDBInstance.create(path);
    const db = await instance.connect();
    await db.run('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)');
    for (let version = 1; version <= 3; version++) {
      await db.run(MIGRATIONS[version - 1] as string);
      await db.run(`INSERT INTO schema_version VALUES (${version}, now()::TIMESTAMP)`);
    }
    const execution = (id: string, status: string, at = '2026-10-30 10:00:00', run = 'NULL') =>
      `('${id}', TIMESTAMP '${at}', '${status}', 'wf', 'workflow', 'u1', true, 1, 2, 'old', now()::TIMESTAMP, 's_1', ${run})`;
    await db.run(`INSERT INTO executions (execution_id, started_at, status, tool_name, tool_kind, user_id, via_mcp, tasks, step_count, source, ingested_at, agent_session_id, agent_workflow_run_id)
                  VALUES ${execution('failed-wf', 'failed', undefined, "'run_1'")}, ${execution('ok-wf', 'succeeded', '2026-10-29 08:00:00')}`);
    await db.run(`INSERT INTO steps (execution_id, step_index, name, connector, status) VALUES
                  ('failed-wf', 0, 'Read', 'jira', 'succeeded'), ('failed-wf', 2, 'Post', 'slack', 'failed'),
                  ('failed-wf', 1, 'Notify', 'pagerduty', 'terminated'), ('ok-wf', 0, 'Read', 'jira', 'succeeded')`);
    // What an upgrade to version 8 interrupted in its copy leaves behind; the next open starts it again.
    await db.run('CREATE TABLE executions_keyed (leftover INTEGER); INSERT INTO executions_keyed VALUES (1)');
    db.closeSync();
    instance.closeSync();

    // One row per copy transaction, so the copy crosses ranges and checkpoints.
    const store = await Store.open({ path, clock, migrationCopyRows: 1 });
    try {
      const rows = await store.read((d) => d.all('SELECT execution_id, failing_connector FROM executions ORDER BY 1'));
      expect(rows).toEqual([
        { execution_id: 'failed-wf', failing_connector: 'pagerduty' },
        { execution_id: 'ok-wf', failing_connector: null },
      ]);
      const failures = await store.read((d) => d.all('SELECT execution_id, failing_connector FROM failures'));
      expect(failures).toEqual([{ execution_id: 'failed-wf', failing_connector: 'pagerduty' }]);
      // Migration 6: the span of each session and run, from the executions already stored.
      const spans = await store.read((d) => d.all('SELECT key, iso(first_started_at) AS first, iso(last_started_at) AS last FROM agent_spans ORDER BY key'));
      expect(spans).toEqual([
        { key: 'run:run_1', first: '2026-10-30T10:00:00.000Z', last: '2026-10-30T10:00:00.000Z' },
        { key: 'session:s_1', first: '2026-10-29T08:00:00.000Z', last: '2026-10-30T10:00:00.000Z' },
      ]);
      // Migration 7: the hourly rollup, backfilled from the same executions.
      const hours = await store.read((d) => d.all('SELECT iso(hour) AS hour, status, executions::INTEGER AS n, tasks FROM hourly_usage ORDER BY hour'));
      expect(hours).toEqual([
        { hour: '2026-10-29T08:00:00.000Z', status: 'succeeded', n: 1, tasks: 1 },
        { hour: '2026-10-30T10:00:00.000Z', status: 'failed', n: 1, tasks: 1 },
      ]);
      // Migration 8: keyed by the id's bytes, copied in stored order (not by time or id). Stored
      // executions and their steps are still found by id, and a record for a stored execution
      // replaces it instead of adding a second row.
      expect(await store.read((d) => d.all('SELECT execution_id FROM executions ORDER BY rowid'))).toEqual([{ execution_id: 'failed-wf' }, { execution_id: 'ok-wf' }]);
      expect((await store.read((d) => d.all<{ i: number }>('SELECT step_index AS i FROM steps ORDER BY rowid'))).map((r) => r.i)).toEqual([0, 2, 1, 0]);
      const trace = await traceExecution(duckdbAnalytics((task) => store.read(task)), 'failed-wf');
      expect(trace.steps.map((s) => s.name)).toEqual(['Read', 'Notify', 'Post']);
      const final = record('ok-wf', { started_at: '2026-10-29T08:00:00Z', ended_at: '2026-10-29T08:00:05Z', status: 'failed', tool: { name: 'wf', kind: 'workflow' } });
      expect(await ingestLines(store, blockFromText(JSON.stringify(final)), 'new')).toMatchObject({ inserted: 0, updated: 1 });
      expect(await store.read((d) => d.all('SELECT execution_id, status, source FROM executions ORDER BY 1'))).toEqual([
        { execution_id: 'failed-wf', status: 'failed', source: 'old' },
        { execution_id: 'ok-wf', status: 'failed', source: 'new' },
      ]);
    } finally {
      await store.close();
    }
  });

  it('keys executions by the bytes of their ids: a UUID, the same UUID in upper case, an OpenTelemetry id and plain text are four executions, each found by its id', async () => {
    const store = await openTestStore();
    const uuid = '0f8e4a6c-3b1d-4c2e-9a7f-5d6e8b9c0a1b';
    const otlp = '0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331';
    const ids = [uuid, uuid.toUpperCase(), otlp, 'ex_7f3a'];
    const block = blockFromText(lines(...ids.map((id) => record(id))).trimEnd());
    expect(await ingestLines(store, block, 'first')).toMatchObject({ inserted: 4, duplicates: 0 });
    expect(await ingestLines(store, block, 'again')).toMatchObject({ inserted: 0, updated: 0, duplicates: 4 });
    const keys = await store.read((db) => db.all<{ id: string; key: string }>('SELECT execution_id AS id, hex(execution_key) AS key FROM executions'));
    const text = (id: string) => `00${Buffer.from(id).toString('hex')}`.toUpperCase();
    expect(Object.fromEntries(keys.map((k) => [k.id, k.key]))).toEqual({
      [uuid]: `01${uuid.replaceAll('-', '')}`.toUpperCase(),
      [uuid.toUpperCase()]: text(uuid.toUpperCase()),
      [otlp]: `02${otlp.replace('-', '')}`.toUpperCase(),
      ex_7f3a: text('ex_7f3a'),
    });
    for (const id of ids) expect((await traceExecution(duckdbAnalytics((task) => store.read(task)), id)).execution.execution_id).toBe(id);
  });

  it('a write made while a query runs yields to it only for a moment: a query that waits for the write still ends', async () => {
    const store = await openTestStore();
    await store.write((db) => db.run('CREATE TABLE t (n INTEGER)'));
    const order: string[] = [];
    const result = await store.read(async (db) => {
      order.push('query started');
      // The write is issued and awaited inside the query: were the writer to wait for queries
      // without limit, this would never end.
      await store.write(async (w) => {
        await w.run('INSERT INTO t VALUES (1)');
        order.push('write done');
      });
      return db.one<{ n: number }>('SELECT count(*)::INTEGER AS n FROM t');
    });
    expect(order).toEqual(['query started', 'write done']);
    expect(result?.n).toBe(1);
  });

  it('checkpoints once the WAL is large, at a quiet moment: after running queries end', async () => {
    const path = join(tempDir(), 'wal.duckdb');
    const store = await Store.open({ path, clock, checkpointWalBytes: 1 });
    const walBytes = () => (existsSync(`${path}.wal`) ? statSync(`${path}.wal`).size : 0);
    try {
      await store.write((db) => db.run('CREATE TABLE t (n INTEGER)'));
      await store.write(async () => undefined); // queued behind the checkpoint
      expect(walBytes()).toBe(0);

      let endQuery!: () => void;
      const query = store.read(() => new Promise<void>((resolve) => (endQuery = resolve)));
      await store.write((db) => db.run('INSERT INTO t VALUES (1)'));
      const order: string[] = [];
      const nextWrite = store.write(async () => void order.push('write after the checkpoint'));
      await new Promise((r) => setTimeout(r, 100));
      expect(walBytes()).toBeGreaterThan(0); // the checkpoint waits for the query
      order.push('query ends');
      endQuery();
      await Promise.all([query, nextWrite]);
      expect(order).toEqual(['query ends', 'write after the checkpoint']);
      expect(walBytes()).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('reads do not starve writes: while writes queue up, one read runs at a time; otherwise two', async () => {
    const store = await openTestStore();
    let running = 0;
    let most = 0;
    const read = () =>
      store.read(async (db) => {
        most = Math.max(most, ++running);
        await db.one('SELECT 1');
        await new Promise((r) => setTimeout(r, 60));
        running--;
      });
    await Promise.all([read(), read()]);
    expect(most).toBe(2);

    let release!: () => void;
    const held = store.write(() => new Promise<void>((r) => (release = r)));
    const queued = store.write(async () => undefined);
    await new Promise((r) => setTimeout(r, 20));
    most = 0;
    const reads = Promise.all([read(), read(), read()]);
    await new Promise((r) => setTimeout(r, 250));
    expect(most).toBe(1);
    release();
    await Promise.all([held, queued, reads]);
  });

  it('keeps extension auto-install off, and returns freed memory from the allocator\'s own thread', async () => {
    const store = await openTestStore();
    const row = await store.read((db) =>
      db.one<{ install: string; purge: string }>(
        "SELECT current_setting('autoinstall_known_extensions')::VARCHAR AS install, current_setting('allocator_background_threads')::VARCHAR AS purge",
      ),
    );
    expect(row).toEqual({ install: 'false', purge: 'true' });
  });

  it('refuses a database written by a newer release, naming both versions', async () => {
    const path = join(tempDir(), 'newer.duckdb');
    const store = await Store.open({ path, clock });
    await store.write((db) => db.run(`INSERT INTO schema_version VALUES (${MIGRATIONS.length + 1}, now()::TIMESTAMP)`));
    await store.close();
    const error = await Store.open({ path, clock }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaTooNewError);
    expect((error as Error).message).toContain(`schema version ${MIGRATIONS.length + 1}`);
  });

  it('a second process gets a clear lock error naming the holder, and writes nothing', async () => {
    const path = join(tempDir(), 'locked.duckdb');
    const store = await Store.open({ path, clock });
    try {
      const child = spawnSync(process.execPath, ['dist/cli/main.js', 'ingest', 'sample-logs', '--db', path], { encoding: 'utf8' });
      expect(child.status).toBe(2);
      expect(child.stderr).toContain(`is in use by another process`);
      expect(child.stderr).toContain(`PID ${process.pid}`);
      const rows = await store.read((db) => db.one<{ n: number }>('SELECT count(*)::INTEGER AS n FROM executions'));
      expect(rows?.n).toBe(0);
    } finally {
      await store.close();
    }
  });
});
