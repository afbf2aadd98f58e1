import type { Clock } from '../../clock.js';
import { prepareBatchYielding } from '../../ingest/prepare.js';
import type { LineBlock } from '../../ingest/lines.js';
import type { BatchResult, StorableBatch } from '../ingest-write.js';
import type { StoreLocation } from '../store-url.js';
import { ClickHouseDb } from './client.js';
import { migrateClickHouse } from './schema.js';
import { commitBatchClickHouse } from './write.js';

/**
 * The ClickHouse store: a server (or chdb in this process) that any number of instances share.
 * Nothing here holds a lock or a queue: ClickHouse orders concurrent inserts itself, and the
 * ReplacingMergeTree settles every execution's copies by its version (schema.ts).
 */
export class ClickHouseStore {
  private constructor(readonly ch: ClickHouseDb, readonly clock: Clock) {}

  static async open(location: StoreLocation & { engine: 'clickhouse' | 'chdb' }, clock: Clock, options: { stdinInUse?: boolean } = {}): Promise<ClickHouseStore> {
    const ch = await ClickHouseDb.open(location, options);
    try {
      await migrateClickHouse(ch, location.engine === 'clickhouse' ? location.cluster : undefined);
    } catch (error) {
      await ch.close();
      throw error;
    }
    return new ClickHouseStore(ch, clock);
  }

  /** Validates a block of raw lines in Node (the same validation and quarantine as DuckDB's) and stores them. */
  async ingestLines(block: LineBlock, source: string): Promise<BatchResult> {
    const batch = await prepareBatchYielding(block, this.clock.now());
    try {
      return await this.commit(batch, source);
    } finally {
      batch.release();
    }
  }

  /** Stores a batch ingest has validated already; resolves once ClickHouse confirmed it. */
  commit(batch: StorableBatch, source: string): Promise<BatchResult> {
    return commitBatchClickHouse(this.ch, batch, { source });
  }

  /** Tools of a catalog file: they join the catalog even if they never ran. */
  async addCatalogTools(tools: ReadonlyArray<{ name: string; server?: string; kind?: string }>): Promise<void> {
    const listedAt = this.clock.now().toISOString();
    await this.ch.insert('catalog_tools', tools.map((t) => ({ name: t.name, server: t.server ?? '', kind: t.kind ?? 'connector', listed_at: listedAt })));
  }

  close(): Promise<void> {
    return this.ch.close();
  }
}
