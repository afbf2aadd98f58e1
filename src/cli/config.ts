import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkTimeZone } from '../analytics/time-range.js';
import { clockFrom, type Clock } from '../clock.js';
import { UserInputError } from '../errors.js';
import { parseByteSize } from '../byte-size.js';
import type { StoreOptions } from '../store/store.js';
import { describeStoreLocation, parseStoreLocation, type StoreLocation } from '../store/store-url.js';

/**
 * Everything the program takes from its environment, read once here. Nothing else reads
 * `process.env` or `process.argv`: the rest of the code gets a typed config.
 */
export interface Config {
  /** Where the data lives (--store or MCP_BLACKBOX_STORE; a DuckDB file by default, --db). */
  store: StoreLocation;
  /** The DuckDB file: the store's path, or where a DuckDB store would be when the store is ClickHouse. */
  dbPath: string;
  clock: Clock;
  /** DuckDB memory limit; ingest of a large file streams within it. */
  memoryLimit: string;
  /** HMAC key of the audit chain (MCP_BLACKBOX_AUDIT_KEY); without it the chain is plain SHA-256. */
  auditKey?: string;
  /** The secret redactor on tool output; on unless MCP_BLACKBOX_REDACT=off. */
  redactSecrets: boolean;
  /** IANA zone for calendar windows and plain dates when a question names none (--tz); UTC when unset. */
  tz?: string;
}

/** The audit log's append-only JSONL mirror lives beside the database. */
export function auditMirrorPath(dbPath: string): string {
  return `${dbPath}.audit.jsonl`;
}

export interface CommonFlags {
  db?: string;
  store?: string;
  now?: string;
  tz?: string;
}

export const ENV = {
  db: 'MCP_BLACKBOX_DB',
  store: 'MCP_BLACKBOX_STORE',
  now: 'MCP_BLACKBOX_NOW',
  memory: 'MCP_BLACKBOX_MEMORY_LIMIT',
  auditKey: 'MCP_BLACKBOX_AUDIT_KEY',
  redact: 'MCP_BLACKBOX_REDACT',
  user: 'MCP_BLACKBOX_USER',
  access: 'MCP_BLACKBOX_ACCESS',
  webhookSecrets: 'MCP_BLACKBOX_WEBHOOK_SECRETS',
  tz: 'MCP_BLACKBOX_TZ',
  url: 'MCP_BLACKBOX_URL',
  token: 'MCP_BLACKBOX_TOKEN',
  spool: 'MCP_BLACKBOX_SPOOL',
  alerts: 'MCP_BLACKBOX_ALERTS',
  export: 'MCP_BLACKBOX_EXPORT',
  /** A ClickHouse serve's name among the instances (default: the host name): its tailer's checkpoints are its own. */
  instance: 'MCP_BLACKBOX_INSTANCE',
} as const;

export const DEFAULT_DB = 'blackbox.duckdb';
/**
 * DuckDB's buffer pool. The process needs about 450 MiB beside it while ingesting (JavaScript,
 * the batch being merged, DuckDB's own allocations), so 384MB keeps a 1 GB ingest under 1 GiB
 * of RSS; fleet queries at 10M executions run well within it.
 */
export const DEFAULT_MEMORY_LIMIT = '384MB';
/** How a person raises it, for the store's out-of-memory error. */
const MEMORY_LIMIT_HINT = `Raise it with ${ENV.memory} (for example ${ENV.memory}=1GB).`;

/**
 * The store as every command opens it: the configured file and memory limit, and how to raise it.
 * Commands that only read need the limit too: opening a file an older version wrote may upgrade
 * it, and an upgrade copies the tables (migration 8).
 */
export function storeOptions(config: Config): StoreOptions {
  return { path: config.dbPath, clock: config.clock, memoryLimit: config.memoryLimit, memoryLimitHint: MEMORY_LIMIT_HINT };
}

/** Below a few MB DuckDB fails to create or upgrade a database (seen at 1MB and 2MB); 16MB opens it. */
const MIN_MEMORY_LIMIT_BYTES = 16e6;

/**
 * The memory limit, checked here: DuckDB answers a value it cannot read with "Failed to set
 * config", which names neither the setting nor the variable, and a tiny one with an allocation
 * error at open.
 */
function memoryLimitFrom(value: string | undefined): string {
  if (value === undefined) return DEFAULT_MEMORY_LIMIT;
  const bytes = parseByteSize(value);
  if (bytes === undefined) {
    throw new UserInputError(
      `${ENV.memory} must be a size with a unit, such as 384MB, 1GB or 512MiB; got ${JSON.stringify(value)}. Leave it unset for the default (${DEFAULT_MEMORY_LIMIT}).`,
    );
  }
  if (bytes < MIN_MEMORY_LIMIT_BYTES) {
    throw new UserInputError(`${ENV.memory}=${value.trim()} is too small for DuckDB to open a database; give at least 16MB (the default is ${DEFAULT_MEMORY_LIMIT}).`);
  }
  return value.trim();
}

/**
 * For commands that only read: DuckDB would create an empty database at a mistyped path (and its
 * directories), and the command would then report an empty fleet. Refused instead, naming the path.
 */
export function requireDatabase(config: Config): void {
  if (!existsSync(config.dbPath)) {
    throw new UserInputError(
      `No database at ${config.dbPath}. Check --db (or ${ENV.db}); a database is created by mcp-blackbox ingest or serve.`,
    );
  }
}

/**
 * `clickhouse`: the command runs on a ClickHouse store too (ingest); every other command refuses
 * one rather than quietly opening a DuckDB file beside it.
 */
export function resolveConfig(flags: CommonFlags, env: NodeJS.ProcessEnv, options: { clickhouse?: boolean } = {}): Config {
  if (flags.db !== undefined && flags.store !== undefined) {
    throw new UserInputError('Give --db or --store, not both: --store takes a DuckDB path too (or clickhouse://user:pass@host:8123/db).');
  }
  const db = flags.db ?? env[ENV.db];
  // A flag wins over the environment; --store over --db's variable, and --db over --store's.
  const storeText = flags.store ?? (flags.db === undefined ? env[ENV.store] : undefined);
  const store: StoreLocation = storeText !== undefined ? parseStoreLocation(storeText) : { engine: 'duckdb', path: resolve(db ?? DEFAULT_DB) };
  if (store.engine !== 'duckdb' && !options.clickhouse) {
    throw new UserInputError(
      `${describeStoreLocation(store)} (from ${flags.store !== undefined ? '--store' : ENV.store}) is a ClickHouse store; this command works on a DuckDB file only so far (ingest, serve, export, audit verify and migrate take ClickHouse). Give --db, or unset ${ENV.store}.`,
    );
  }
  return {
    store,
    dbPath: store.engine === 'duckdb' ? store.path : resolve(db ?? DEFAULT_DB),
    clock: clockFrom(flags.now ?? env[ENV.now]),
    memoryLimit: memoryLimitFrom(env[ENV.memory]),
    auditKey: env[ENV.auditKey] || undefined,
    redactSecrets: !['off', 'false', '0'].includes((env[ENV.redact] ?? '').toLowerCase()),
    tz: flags.tz ?? env[ENV.tz] ? checkTimeZone((flags.tz ?? env[ENV.tz])!) : undefined,
  };
}
