import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { fixedClock } from '../src/clock.js';
import { Store } from '../src/store/store.js';

/** "Now" in tests: the fixtures are laid out relative to it. */
export const TEST_NOW = '2026-11-01T00:00:00Z';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'blackbox-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A real DuckDB file in a fresh temp dir, closed after the test. */
export async function openTestStore(now = TEST_NOW, path?: string): Promise<Store> {
  const store = await Store.open({ path: path ?? join(tempDir(), 'test.duckdb'), clock: fixedClock(new Date(now)) });
  cleanups.push(() => store.close());
  return store;
}

type Json = Record<string, unknown>;

/** A valid execution record; `overrides` replace top-level fields (undefined removes one). */
export function record(id: string, overrides: Json = {}): Json {
  const base: Json = {
    execution_id: id,
    started_at: '2026-10-30T10:00:00Z',
    ended_at: '2026-10-30T10:00:02Z',
    status: 'succeeded',
    tool: { name: 'jira_create_issue', kind: 'connector', server: 'eng-gateway' },
    user: { id: 'u_ana', email: 'ana@example.com', team: 'revops' },
    agent: { client: 'claude-desktop', session_id: 's_1' },
    environment: 'prod',
  };
  const merged: Json = { ...base, ...overrides };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return merged;
}

/**
 * The events a live exporter has written to an NDJSON file so far: only whole lines, since a read
 * can land in the middle of the sink's append.
 */
export function writtenEvents<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}

export const line = (value: unknown): string => JSON.stringify(value);
export const lines = (...values: unknown[]): string => `${values.map((v) => (typeof v === 'string' ? v : line(v))).join('\n')}\n`;

export async function count(store: Store, sql: string, params?: Record<string, string | number>): Promise<number> {
  const row = await store.read((db) => db.one<{ n: number }>(`SELECT (${sql})::DOUBLE AS n`, params));
  return row?.n ?? NaN;
}

/**
 * Commits 20,000 keyed rows at a time into a new table `filler` until a commit fails: at a 24MB
 * memory limit DuckDB runs out of memory in COMMIT itself within a few writes ("Failed to commit:
 * could not allocate block"). Returns the rows committed before and the failure.
 */
export async function writeUntilCommitFails(store: Store): Promise<{ committed: number; failure: unknown }> {
  await store.write((db) => db.run('CREATE TABLE filler (k VARCHAR PRIMARY KEY, v VARCHAR)'));
  let committed = 0;
  for (let i = 0; i < 100; i++) {
    try {
      await store.write((db) => db.run(`INSERT INTO filler SELECT md5(random()::VARCHAR) || range, repeat('x', 50) FROM range(20000)`));
      committed += 20_000;
    } catch (failure) {
      return { committed, failure };
    }
  }
  throw new Error('no commit failed in 100 writes of 20,000 rows');
}
