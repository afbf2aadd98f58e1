import { resolve } from 'node:path';
import { UserInputError } from '../errors.js';

/**
 * Where the data lives, from `--store` or MCP_BLACKBOX_STORE:
 * - a path (or duckdb:<path>): one DuckDB file, owned by one process (the default);
 * - clickhouse://user:pass@host:8123/db (chs:// or clickhouses:// for https): a ClickHouse server
 *   that any number of instances share; `?cluster=<name>` creates the tables Replicated, ON CLUSTER;
 * - chdb:<directory>/db: ClickHouse in this process (the optional `chdb` package), for one machine
 *   and for the conformance tests.
 */
export type StoreLocation =
  | { engine: 'duckdb'; path: string }
  | { engine: 'clickhouse'; url: string; username: string; password: string; database: string; cluster?: string }
  | { engine: 'chdb'; path: string; database: string };

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function parseStoreLocation(text: string): StoreLocation {
  const value = text.trim();
  if (value === '') throw new UserInputError('--store is empty: give a DuckDB file path or clickhouse://user:pass@host:8123/db.');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  if (scheme === 'duckdb') return { engine: 'duckdb', path: value.slice('duckdb:'.length) === ':memory:' ? ':memory:' : resolve(value.slice('duckdb:'.length)) };
  if (scheme === 'chdb') {
    const rest = value.slice('chdb:'.length).replace(/^\/\//, '');
    const slash = rest.lastIndexOf('/');
    const database = slash === -1 ? 'mcp_blackbox' : rest.slice(slash + 1);
    const path = slash === -1 ? rest : rest.slice(0, slash);
    if (path === '') throw new UserInputError(`--store ${value}: give chdb:<data directory>/<database>, e.g. chdb:./blackbox-ch/mcp_blackbox.`);
    return { engine: 'chdb', path: resolve(path), database: checkDatabase(database, value) };
  }
  if (scheme === 'clickhouse' || scheme === 'clickhouses' || scheme === 'chs') {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new UserInputError(`--store ${redactedUrl(value)} is not a URL: write clickhouse://user:pass@host:8123/db.`);
    }
    if (!url.hostname) throw new UserInputError(`--store ${redactedUrl(value)} names no host: write clickhouse://user:pass@host:8123/db.`);
    const https = scheme !== 'clickhouse';
    const database = checkDatabase(decodeURIComponent(url.pathname.replace(/^\//, '')) || 'mcp_blackbox', value);
    const cluster = url.searchParams.get('cluster') ?? undefined;
    if (cluster !== undefined && !IDENTIFIER.test(cluster)) throw new UserInputError(`--store: cluster "${cluster}" is not a plain name (letters, digits, underscore).`);
    for (const key of url.searchParams.keys()) {
      if (key !== 'cluster') throw new UserInputError(`--store: unknown option "${key}" in the URL; the only one is ?cluster=<name>.`);
    }
    return {
      engine: 'clickhouse',
      url: `${https ? 'https' : 'http'}://${url.hostname.includes(':') ? `[${url.hostname}]` : url.hostname}:${url.port || (https ? '8443' : '8123')}`,
      username: decodeURIComponent(url.username) || 'default',
      password: decodeURIComponent(url.password),
      database,
      ...(cluster ? { cluster } : {}),
    };
  }
  // A Windows drive letter or a plain path: DuckDB.
  if (scheme && scheme.length > 1) throw new UserInputError(`--store ${redactedUrl(value)}: unknown scheme "${scheme}:"; use a DuckDB file path, clickhouse:// or chdb:.`);
  return { engine: 'duckdb', path: value === ':memory:' ? value : resolve(value) };
}

function checkDatabase(name: string, value: string): string {
  if (!IDENTIFIER.test(name)) throw new UserInputError(`--store ${redactedUrl(value)}: database "${name}" is not a plain name (letters, digits, underscore).`);
  return name;
}

/** The location as it may be printed: never its password. */
export function describeStoreLocation(location: StoreLocation): string {
  if (location.engine === 'duckdb') return location.path;
  if (location.engine === 'chdb') return `chdb:${location.path}/${location.database}`;
  return `${location.url.replace(/^http/, 'clickhouse')}/${location.database} (user ${location.username})`;
}

function redactedUrl(value: string): string {
  return value.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
