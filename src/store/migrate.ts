import { SchemaTooNewError } from '../errors.js';
import type { Db } from './db.js';
import { MIGRATIONS, type CopyingMigration } from './migrations.js';
import type { WriteContext } from './out-of-memory.js';

/** What the migration runner needs of the store: its write connection, write queue and checkpoints. */
export interface MigrationTarget {
  path: string;
  writer: Db;
  write<T>(task: (db: Db) => Promise<T>, context: WriteContext): Promise<T>;
  checkpointSoon(): void;
  /** Rows per transaction when a migration copies a table. */
  migrationCopyRows: number;
}

/** Brings the database to the newest schema version, one migration per transaction (or a copy in ranges). */
export async function migrate(store: MigrationTarget): Promise<void> {
  await store.writer.run(
    'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)',
  );
  const row = await store.writer.one<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
  const current = row?.v ?? 0;
  if (current > MIGRATIONS.length) {
    throw new SchemaTooNewError(
      `${store.path} has schema version ${current}, but this mcp-blackbox knows versions up to ${MIGRATIONS.length}: ` +
        'it was written by a newer release. Upgrade mcp-blackbox, or point --db at another file.',
    );
  }
  for (let version = current + 1; version <= MIGRATIONS.length; version++) {
    const migration = MIGRATIONS[version - 1]!;
    const context: WriteContext = {
      failed: `upgrading ${store.path} to schema version ${version}; the step was rolled back and the database stays at version ${version - 1}`,
      retry: 'Open it again once the limit is raised: the upgrade starts over.',
    };
    const recordVersion = (db: Db) => db.run('INSERT INTO schema_version VALUES ($version, now()::TIMESTAMP)', { version });
    if (typeof migration === 'string') {
      await store.write(async (db) => {
        await db.run(migration);
        await recordVersion(db);
      }, context);
      continue;
    }
    await store.write((db) => db.run(migration.before), context);
    for (const copy of migration.copies) await copyInRanges(store, copy, context);
    await store.write(async (db) => {
      await db.run(migration.after);
      await recordVersion(db);
    }, context);
  }
}

/**
 * Copies a table a range of rowids per transaction, with a checkpoint after every few ranges,
 * as bulk ingest does: a transaction's new index entries stay in memory until a checkpoint.
 */
async function copyInRanges(store: MigrationTarget, { from, into, select }: CopyingMigration['copies'][number], context: WriteContext): Promise<void> {
  const last = await store.write((db) => db.one<{ n: number | null }>(`SELECT max(rowid)::DOUBLE AS n FROM ${from}`), context);
  const rows = store.migrationCopyRows;
  for (let first = 0; last?.n != null && first <= last.n; first += rows) {
    // Literal bounds: DuckDB skips the row groups outside them, which it does not for bound parameters.
    await store.write((db) => db.run(`INSERT INTO ${into} ${select} WHERE rowid >= ${first} AND rowid < ${first + rows}`), context);
    if ((first / rows) % 2 === 1) store.checkpointSoon();
  }
}
