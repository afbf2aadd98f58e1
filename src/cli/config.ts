import { resolve } from 'node:path';
import { clockFrom, type Clock } from '../clock.js';

/**
 * Everything the program takes from its environment, read once here. Nothing else reads
 * `process.env` or `process.argv`: the rest of the code gets a typed config.
 */
export interface Config {
  dbPath: string;
  clock: Clock;
  /** DuckDB memory limit; ingest of a large file streams within it. */
  memoryLimit: string;
}

export interface CommonFlags {
  db?: string;
  now?: string;
}

export const ENV = {
  db: 'MCP_BLACKBOX_DB',
  now: 'MCP_BLACKBOX_NOW',
  memory: 'MCP_BLACKBOX_MEMORY_LIMIT',
} as const;

export const DEFAULT_DB = 'blackbox.duckdb';

export function resolveConfig(flags: CommonFlags, env: NodeJS.ProcessEnv): Config {
  return {
    dbPath: resolve(flags.db ?? env[ENV.db] ?? DEFAULT_DB),
    clock: clockFrom(flags.now ?? env[ENV.now]),
    memoryLimit: env[ENV.memory] ?? '1GB',
  };
}
