import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';

export type Params = Record<string, DuckDBValue>;
export type Row = Record<string, unknown>;

/** A connection handed to one read or write task; it is never shared between concurrent tasks. */
export interface Db {
  all<T = Row>(sql: string, params?: Params): Promise<T[]>;
  one<T = Row>(sql: string, params?: Params): Promise<T | undefined>;
  run(sql: string, params?: Params): Promise<void>;
  /** The raw client, for the appender (bulk staging). */
  readonly connection: DuckDBConnection;
}

/** Runs a task on a read connection of its own (Store.read): independent queries can run side by side. */
export type Reader = <T>(task: (db: Db) => Promise<T>) => Promise<T>;

/**
 * DuckDB refuses parameters a statement does not use; queries built from shared parts (a WHERE
 * clause used by several statements) pass one params object, so keep only what `sql` names.
 */
function paramsFor(sql: string, params?: Params): Params | undefined {
  if (!params) return undefined;
  const used: Params = {};
  for (const match of sql.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)) {
    const name = match[1]!;
    if (name in params) used[name] = params[name]!;
  }
  return used;
}

/**
 * No statement is prepared once and run again. This DuckDB plans a prepared statement with the
 * table statistics of the moment it was prepared, so a reused plan can miss rows inserted since
 * (duckdb/duckdb#23704, #24182; the fix, #24696, is not in @duckdb/node-api 1.5.6-r.1) or crash:
 * the merge's rollup, prepared while the stored tool names were short, killed the process with
 * a segmentation fault once a longer one was stored (compressed materialization sized from the
 * old statistics). Planning each statement anew cost nothing measurable on 10,000-line batches.
 */
export function wrapConnection(connection: DuckDBConnection, beforeStatement?: () => Promise<void>): Db {
  return {
    connection,
    async all<T>(sql: string, params?: Params) {
      await beforeStatement?.();
      const reader = await connection.runAndReadAll(sql, paramsFor(sql, params));
      // JSON form: BIGINT becomes a string, so counts are cast to DOUBLE/INTEGER in SQL.
      return reader.getRowObjectsJson() as T[];
    },
    async one<T>(sql: string, params?: Params) {
      await beforeStatement?.();
      const reader = await connection.runAndReadAll(sql, paramsFor(sql, params));
      return reader.getRowObjectsJson()[0] as T | undefined;
    },
    async run(sql: string, params?: Params) {
      await beforeStatement?.();
      await connection.run(sql, paramsFor(sql, params));
    },
  };
}

