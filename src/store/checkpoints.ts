import type { Db, Store } from './store.js';

export interface Checkpoint {
  fingerprint: string;
  fingerprintBytes: number;
  path: string;
  byteOffset: number;
  lineNo: number;
}

export async function loadCheckpoint(store: Store, fingerprint: string): Promise<Checkpoint | undefined> {
  return store.read((db) =>
    db.one<Checkpoint>(
      `SELECT fingerprint, fingerprint_bytes AS "fingerprintBytes", path,
              byte_offset::DOUBLE AS "byteOffset", line_no::DOUBLE AS "lineNo"
       FROM ingest_checkpoints WHERE fingerprint = $fingerprint`,
      { fingerprint },
    ),
  );
}

/** Saves a checkpoint inside the caller's write transaction (the one that stored the rows). */
export async function saveCheckpoint(db: Db, checkpoint: Checkpoint): Promise<void> {
  await db.run(
    `INSERT OR REPLACE INTO ingest_checkpoints
     VALUES ($fingerprint, $fingerprintBytes, $path, $byteOffset, $lineNo, now()::TIMESTAMP)`,
    { ...checkpoint },
  );
}
