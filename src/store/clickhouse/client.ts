import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { UserInputError } from '../../errors.js';
import { describeStoreLocation, type StoreLocation } from '../store-url.js';
import { classifyClickHouseError } from './errors.js';

/**
 * Settings on every query, so that ClickHouse answers as the shared shaping code expects:
 * - times in UTC whatever the server's zone;
 * - 64-bit integers as JSON numbers (counts), not strings;
 * - a column name wins over a SELECT alias of the same name (`sum(tasks) AS tasks` would
 *   otherwise turn the `tasks` of a WHERE into the aggregate);
 * - GROUPING SETS fill the rolled-up keys with NULL, and an outer join's misses are NULL, as
 *   in DuckDB, rather than each type's default value;
 * - an error arrives before the response's status, so a failed insert is never acknowledged;
 * - the skip index on started_at is used with FINAL, exactly.
 */
const SETTINGS: ClickHouseSettings = {
  session_timezone: 'UTC',
  output_format_json_quote_64bit_integers: 0,
  output_format_json_quote_decimals: 0,
  prefer_column_name_to_alias: 1,
  group_by_use_nulls: 1,
  join_use_nulls: 1,
  wait_end_of_query: 1,
  date_time_input_format: 'best_effort',
  // Windowed queries read FINAL: the minmax index on started_at (schema.ts) still skips granules,
  // and exact mode scans newer parts that overlap them, so no newer version is missed.
  use_skip_indexes_if_final: 1,
  use_skip_indexes_if_final_exact_mode: 1,
};

export type ChParams = Record<string, unknown>;

/** A ClickHouse database: queries with typed parameters ({name:Type}), commands and JSON inserts. */
export class ClickHouseDb {
  private readonly columnTypes = new Map<string, Map<string, string>>();

  private constructor(
    private readonly client: ClickHouseClient,
    readonly database: string,
    readonly location: StoreLocation & { engine: 'clickhouse' | 'chdb' },
    readonly where: string,
    private readonly insertBySelect: boolean,
  ) {}

  /**
   * `options.stdinInUse`: this process reads its stdin for something else (MCP over stdio). chdb
   * takes bytes waiting there as an insert's data and refuses the insert ("both inlined and
   * external data"); inserts then go as INSERT ... SELECT from the format() table function,
   * which reads only the data it is given.
   */
  static async open(location: StoreLocation & { engine: 'clickhouse' | 'chdb' }, options: { stdinInUse?: boolean } = {}): Promise<ClickHouseDb> {
    const where = describeStoreLocation(location);
    // Progress headers keep a long query's connection alive through proxies that cut idle ones.
    // In a cluster an insert is confirmed once a majority of replicas hold it: the rollup's
    // refresh (rollup.ts) may run on another replica and must see every confirmed insert.
    const replicated = location.engine === 'clickhouse' && location.cluster ? { insert_quorum: 'auto' as const } : {};
    const common = { clickhouse_settings: { ...SETTINGS, ...replicated, send_progress_in_http_headers: 1 as const, http_headers_progress_interval_ms: '60000' }, request_timeout: 300_000 };
    let client: ClickHouseClient;
    if (location.engine === 'chdb') {
      // chdb's adapter runs a SET statement per setting before every query: the settings are set
      // once on its session instead, where they last.
      client = createClient({ connection: await chdbConnection(location.path) } as Parameters<typeof createClient>[0]);
      const values = Object.entries(SETTINGS).filter(([k]) => k !== 'wait_end_of_query');
      for (const [key, value] of values) await client.command({ query: `SET ${key} = ${typeof value === 'string' ? `'${value}'` : Number(value)}` });
    } else {
      client = createClient({ ...common, url: location.url, username: location.username, password: location.password });
    }
    const db = new ClickHouseDb(client, location.database, location, where, location.engine === 'chdb' && Boolean(options.stdinInUse));
    try {
      // Created only when missing: a user granted one database may not create any.
      const exists = await db.one<{ n: number }>('SELECT count() AS n FROM system.databases WHERE name = {name:String}', { name: location.database });
      if (!exists?.n) await db.command(`CREATE DATABASE IF NOT EXISTS ${location.database}${location.engine === 'clickhouse' && location.cluster ? ` ON CLUSTER ${location.cluster}` : ''}`);
    } catch (error) {
      await client.close().catch(() => undefined);
      throw error;
    }
    return db;
  }

  async all<T>(sql: string, params: ChParams = {}): Promise<T[]> {
    try {
      const result = await this.client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
      return await result.json<T>();
    } catch (error) {
      throw classifyClickHouseError(error, this.where);
    }
  }

  async one<T>(sql: string, params: ChParams = {}): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async command(sql: string, params: ChParams = {}): Promise<void> {
    try {
      await this.client.command({ query: sql, query_params: params });
    } catch (error) {
      throw classifyClickHouseError(error, this.where);
    }
  }

  /** Resolves once ClickHouse has confirmed the insert (wait_end_of_query): only then is a batch acknowledged. */
  async insert(table: string, rows: readonly object[]): Promise<void> {
    if (rows.length === 0) return;
    if (this.insertBySelect) return this.insertSelecting(table, rows);
    try {
      await this.client.insert({ table: `${this.database}.${table}`, values: rows as object[], format: 'JSONEachRow' });
    } catch (error) {
      throw classifyClickHouseError(error, this.where);
    }
  }

  /** The columns the rows name, typed as the table has them: the others take their DEFAULT. */
  private async insertSelecting(table: string, rows: readonly object[]): Promise<void> {
    let types = this.columnTypes.get(table);
    if (!types) {
      const columns = await this.all<{ name: string; type: string }>('SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {table:String}', { db: this.database, table });
      types = new Map(columns.map((c) => [c.name, c.type]));
      this.columnTypes.set(table, types);
    }
    const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    const structure = names.map((n) => `${n} ${types.get(n)}`).join(', ');
    await this.command(
      `INSERT INTO ${this.t(table)} (${names.join(', ')}) SELECT ${names.join(', ')} FROM format(JSONEachRow, {structure:String}, {rows:String})`,
      { structure, rows: rows.map((r) => JSON.stringify(r)).join('\n') },
    );
  }

  /**
   * A SETTINGS clause for a read that must see every insert another writer had confirmed (in a
   * cluster, inserts wait for a quorum: this read asks a replica that has them); nothing on one node.
   */
  get sequentialReads(): string {
    return this.location.engine === 'clickhouse' && this.location.cluster ? '\nSETTINGS select_sequential_consistency = 1' : '';
  }

  /** The table's name qualified by the database. */
  t(table: string): string {
    return `${this.database}.${table}`;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** chdb is optional (a 540 MB install): loaded only when a chdb: store is asked for. */
async function chdbConnection(path: string): Promise<unknown> {
  const specifier = 'chdb/connection';
  let module: { createChdbConnection(options: { path: string }): unknown };
  try {
    module = (await import(specifier)) as typeof module;
  } catch {
    throw new UserInputError('The chdb: store needs the optional package chdb: run `npm install --no-save chdb@3.4.0` (Linux or macOS), or use clickhouse:// with a server.');
  }
  return module.createChdbConnection({ path });
}
