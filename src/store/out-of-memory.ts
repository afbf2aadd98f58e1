import { parseByteSize } from '../byte-size.js';

/** What a write that ran out of memory was doing, and how to do it again: ingest by default. */
export interface WriteContext {
  /** Completes 'DuckDB ran out of its memory limit while ...; ...'. */
  failed: string;
  /** Said after how to raise the limit. */
  retry: string;
}

export const INGEST_WRITE: WriteContext = {
  failed: 'writing; the batch was rolled back and none of it was stored',
  retry: 'Ingest is idempotent: send or ingest the same lines again once the limit is raised.',
};

export interface MemoryFacts {
  /** As DuckDB prints it, e.g. '366.2 MiB'. */
  memory_limit: string;
  index_bytes: number;
  executions: number;
}

/**
 * What ran out and what to do, for the person or sender whose write failed. When the indexes
 * hold much of the limit, the cause is the primary-key index: DuckDB keeps the parts of it that a
 * transaction changes in memory, and random execution ids change parts all over it (about 60
 * bytes per stored execution with UUIDv4 ids, README, Performance); time-ordered ids only change
 * the index's newest end.
 */
export function outOfMemoryMessage(facts: MemoryFacts | undefined, hint: string, context: WriteContext = INGEST_WRITE): string {
  let detail = '';
  if (facts) {
    const limitBytes = parseByteSize(facts.memory_limit);
    detail = ` Its indexes held ${Math.round(facts.index_bytes / 1048576)} MB of it, with ${Math.round(facts.executions).toLocaleString('en-US')} executions stored.`;
    if (limitBytes !== undefined && facts.index_bytes >= limitBytes / 4) {
      detail +=
        ' Random execution ids (such as UUIDv4) keep about 60 bytes each of the indexes in memory while new ' +
        'ones are added, so with random ids the limit must grow by about 60 MB per million executions stored; ' +
        'time-ordered ids (UUIDv7, ULID) need far less.';
    }
  }
  return (
    `DuckDB ran out of its memory limit${facts ? ` (${facts.memory_limit})` : ''} while ${context.failed}.${detail} ` +
    `${hint} ${context.retry}`
  );
}

