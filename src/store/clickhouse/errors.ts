import { StoreUnavailableError, UserInputError } from '../../errors.js';

/**
 * ClickHouse's failures, classified once (as duckdb-errors.ts does for DuckDB): callers catch
 * typed errors and never read ClickHouse's text; it stays the `cause`.
 */
export function classifyClickHouseError(error: unknown, where: string): Error {
  const e = error as { code?: string | number; type?: string; message?: string; cause?: unknown };
  const code = String(e?.code ?? '');
  const type = e?.type ?? '';
  const message = e?.message ?? String(error);
  // Refused, reset or timed out on the way to the server: it may be back in a moment.
  if (['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE'].includes(code) || /Timeout error|socket hang up/i.test(message)) {
    return new StoreUnavailableError(`ClickHouse at ${where} cannot be reached (${code || 'timeout'}); the write or query was not done. Check that the server runs and the URL's host and port.`, { cause: error });
  }
  if (type === 'AUTHENTICATION_FAILED' || code === '516' || type === 'REQUIRED_PASSWORD') {
    return new UserInputError(`ClickHouse at ${where} refused the user name or password in --store.`, { cause: error });
  }
  if (type === 'UNKNOWN_DATABASE' || code === '81') {
    return new UserInputError(`ClickHouse at ${where} has no such database; create it, or name one that exists in --store.`, { cause: error });
  }
  if (type === 'MEMORY_LIMIT_EXCEEDED' || code === '241') {
    return new StoreUnavailableError(`ClickHouse at ${where} ran out of memory for this query; nothing was changed. Narrow the window or raise max_memory_usage.`, { cause: error });
  }
  return new ClickHouseQueryError(`ClickHouse at ${where} failed: ${type || code || 'error'}`, { cause: error });
}

/** A query ClickHouse refused for a reason the caller cannot fix (a bug of ours, or the server's state). */
export class ClickHouseQueryError extends Error {
  override readonly name = 'ClickHouseQueryError';
}
