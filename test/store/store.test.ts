import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { SchemaTooNewError } from '../../src/errors.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { Store } from '../../src/store/store.js';
import { openTestStore, tempDir, TEST_NOW } from '../helpers.js';

const clock = fixedClock(new Date(TEST_NOW));

describe('Store', () => {
  it('applies migrations at open and records the schema version', async () => {
    const store = await openTestStore();
    const row = await store.read((db) => db.one<{ v: number }>('SELECT max(version) AS v FROM schema_version'));
    expect(row?.v).toBe(MIGRATIONS.length);
    const tables = await store.read((db) => db.all<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"));
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['executions', 'steps', 'quarantine', 'ingest_checkpoints', 'tools', 'schema_version']));
  });

  it('keeps extension auto-install off', async () => {
    const store = await openTestStore();
    const row = await store.read((db) => db.one<{ v: string }>("SELECT current_setting('autoinstall_known_extensions')::VARCHAR AS v"));
    expect(row?.v).toBe('false');
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
