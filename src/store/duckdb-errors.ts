/**
 * The one place that reads DuckDB's error text. DuckDB reports every failure as an Error whose
 * message starts with its class ("Out of Memory Error: ...", "Constraint Error: ...", "FATAL
 * Error: ..."); the rest of the code asks what kind of failure it was, never matches the text,
 * and shows people our own words (the DuckDB text goes to `cause`, for logs).
 */
export type DuckDbFailure =
  | { kind: 'locked'; holder: string; pid: string }
  | { kind: 'out_of_memory' }
  /** DuckDB refuses every later statement on this instance: the file must be opened again. */
  | { kind: 'invalidated' }
  /** A key already stored: `key` names the column of the violated primary key or unique index. */
  | { kind: 'key_conflict'; key: string | undefined }
  | { kind: 'other' };

const LOCKED = /Could not set lock on file "[^"]+": Conflicting lock is held in (.+?) \(PID (\d+)\)/;
/** In a statement, or when a commit cannot get a block. */
const OUT_OF_MEMORY = /Out of Memory Error|Failed to commit: (could not allocate|failed to allocate|failed to pin) /;
const INVALIDATED = /FATAL Error|database has been invalidated/;
const KEY_CONFLICT = /Duplicate key "([^":]+): .*" violates (?:primary key|unique) constraint/s;

export function classifyDuckDbError(error: unknown): DuckDbFailure {
  const text = error instanceof Error ? error.message : String(error);
  const locked = LOCKED.exec(text);
  if (locked) return { kind: 'locked', holder: locked[1]!, pid: locked[2]! };
  if (OUT_OF_MEMORY.test(text)) return { kind: 'out_of_memory' };
  if (INVALIDATED.test(text)) return { kind: 'invalidated' };
  const conflict = KEY_CONFLICT.exec(text);
  if (conflict) return { kind: 'key_conflict', key: conflict[1] };
  return { kind: 'other' };
}

/**
 * An insert met a key that is stored already; the write was rolled back. Callers that expect it
 * (a merge whose span missed a stored copy, a webhook delivered twice at once) catch it by type.
 */
export class KeyConflictError extends Error {
  override readonly name = 'KeyConflictError';
  constructor(
    readonly key: string | undefined,
    cause: unknown,
  ) {
    super(`A row with the same ${key ?? 'key'} is stored already; the write was rolled back.`, { cause });
  }
}
