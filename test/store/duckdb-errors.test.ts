import { DuckDBInstance } from '@duckdb/node-api';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyDuckDbError, KeyConflictError } from '../../src/store/duckdb-errors.js';
import { Store } from '../../src/store/store.js';
import { fixedClock } from '../../src/clock.js';
import { tempDir } from '../helpers.js';

/** The errors are DuckDB's own, raised by a real database: the classifier is checked against what this DuckDB says. */
async function failureOf(sql: string[], options: Record<string, string> = {}): Promise<unknown> {
  const instance = await DuckDBInstance.create(':memory:', options);
  const connection = await instance.connect();
  try {
    for (const statement of sql) await connection.run(statement);
    return undefined;
  } catch (error) {
    return error;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('DuckDB failures, classified once', () => {
  it('a duplicate primary key names its column; a unique index too', async () => {
    expect(classifyDuckDbError(await failureOf(['CREATE TABLE t (webhook_id VARCHAR PRIMARY KEY)', "INSERT INTO t VALUES ('a')", "INSERT INTO t VALUES ('a')"]))).toEqual({ kind: 'key_conflict', key: 'webhook_id' });
    expect(classifyDuckDbError(await failureOf(['CREATE TABLE t (k BLOB)', 'CREATE UNIQUE INDEX i ON t (k)', "INSERT INTO t VALUES ('\\x01'::BLOB)", "INSERT INTO t VALUES ('\\x01'::BLOB)"]))).toMatchObject({ kind: 'key_conflict' });
  });

  it('out of memory, and anything else as other', async () => {
    const oom = await failureOf(["SET memory_limit = '8MB'", 'CREATE TABLE big AS SELECT range AS i, repeat(\'x\', 100) AS s FROM range(2000000) ORDER BY s, i']);
    expect(classifyDuckDbError(oom)).toEqual({ kind: 'out_of_memory' });
    expect(classifyDuckDbError(await failureOf(['SELECT * FROM no_such_table']))).toEqual({ kind: 'other' });
  });

  it('a file another process holds', async () => {
    const path = join(tempDir(), 'held.duckdb');
    const holder = await DuckDBInstance.create(path);
    try {
      // Another instance in this process is refused by DuckDB's own cache, not the file lock, so
      // the lock error comes from a child process.
      const { execFileSync } = await import('node:child_process');
      let text = '';
      try {
        execFileSync(process.execPath, ['--input-type=module', '-e', `import { DuckDBInstance } from '@duckdb/node-api'; await DuckDBInstance.create(${JSON.stringify(path)});`], { stdio: 'pipe', cwd: process.cwd() });
      } catch (error) {
        text = String((error as { stderr?: Buffer }).stderr ?? '');
      }
      const message = /Error: (IO Error: Could not set lock[^\n]*)/.exec(text)?.[1];
      expect(message).toBeDefined();
      expect(classifyDuckDbError(new Error(message))).toMatchObject({ kind: 'locked', pid: String(process.pid) });
    } finally {
      holder.closeSync();
    }
  });

  it('the store turns a key conflict into KeyConflictError, with its column, and rolls the write back', async () => {
    const store = await Store.open({ path: join(tempDir(), 'k.duckdb'), clock: fixedClock(new Date('2026-11-01T00:00:00Z')) });
    try {
      await store.write((db) => db.run("INSERT INTO webhook_deliveries VALUES ('w1', now()::TIMESTAMP)"));
      const failure = await store
        .write(async (db) => {
          await db.run("INSERT INTO webhook_deliveries VALUES ('w2', now()::TIMESTAMP)");
          await db.run("INSERT INTO webhook_deliveries VALUES ('w1', now()::TIMESTAMP)");
        })
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(KeyConflictError);
      expect((failure as KeyConflictError).key).toBe('webhook_id');
      expect((failure as Error).message).not.toMatch(/Constraint Error|Duplicate key/);
      const stored = await store.read((db) => db.all<{ webhook_id: string }>('SELECT webhook_id FROM webhook_deliveries ORDER BY 1'));
      expect(stored.map((r) => r.webhook_id)).toEqual(['w1']);
    } finally {
      await store.close();
    }
  });
});
