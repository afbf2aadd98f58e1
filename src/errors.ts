/**
 * Expected failures. Each carries a message written for whoever made the call (a person at the
 * CLI or an agent calling a tool): it says what was wrong and how to fix it. Anything that is not
 * one of these is an internal error and is never shown raw.
 */
export class ExpectedError extends Error {
  override readonly name: string = 'ExpectedError';
}

/** A bad argument, flag or request body. */
export class UserInputError extends ExpectedError {
  override readonly name = 'UserInputError';
}

/** An id or name that does not exist. */
export class NotFoundError extends ExpectedError {
  override readonly name = 'NotFoundError';
}

/** The caller may not do this. */
export class AccessDenied extends ExpectedError {
  override readonly name = 'AccessDenied';
}

/** Another process holds the database file. */
export class DatabaseLockedError extends ExpectedError {
  override readonly name = 'DatabaseLockedError';
}

/** The database was written by a newer mcp-blackbox. */
export class SchemaTooNewError extends ExpectedError {
  override readonly name = 'SchemaTooNewError';
}

/** DuckDB ran out of its memory limit; the write was rolled back. */
export class StoreOutOfMemoryError extends ExpectedError {
  override readonly name = 'StoreOutOfMemoryError';
}

/** The database could not be opened again after a failed write; every call tries again until it can be. */
export class StoreUnavailableError extends ExpectedError {
  override readonly name = 'StoreUnavailableError';
}

export function isExpected(error: unknown): error is ExpectedError {
  return error instanceof ExpectedError;
}
