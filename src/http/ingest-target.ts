import type { BatchResult } from '../ingest/batch.js';
import { ingestLines } from '../ingest/batch.js';
import type { LineBlock } from '../ingest/lines.js';
import { duckdbOtlpStore, type OtlpStore } from '../ingest/otlp-store.js';
import type { ClickHouseStore } from '../store/clickhouse/store.js';
import { clickhouseOtlpStore } from '../store/clickhouse/otlp.js';
import { deliverySeen } from '../store/ingest-write.js';
import type { Store } from '../store/store.js';

/**
 * Where the HTTP (and OTLP) ingest routes store what they receive: the one entry point per store,
 * so that a route never knows which engine is behind it.
 */
export interface IngestTarget {
  /** Validates and stores raw lines; resolves once the store confirmed them. */
  ingestLines(block: LineBlock, source: string, deliveryId?: string): Promise<BatchResult>;
  /** Whether a webhook delivery was stored already; false where the store does not remember deliveries. */
  deliverySeen(deliveryId: string): Promise<boolean>;
  /** Where OTLP traces and metrics land (spans waiting for their tool call, late steps, metric series). */
  otlp: OtlpStore;
  /** Writes queued behind the store's writer (reported by /healthz). */
  readonly queuedWrites: number;
}

export function duckdbIngestTarget(store: Store): IngestTarget {
  return {
    ingestLines: (block, source, deliveryId) => ingestLines(store, block, source, { deliveryId }),
    deliverySeen: (id) => deliverySeen(store, id),
    otlp: duckdbOtlpStore(store),
    get queuedWrites() {
      return store.queuedWrites;
    },
  };
}

/**
 * ClickHouse: records are idempotent by their version, so a webhook delivered twice stores
 * nothing the second time (its records count as duplicates); deliveries are not remembered.
 */
export function clickhouseIngestTarget(store: ClickHouseStore): IngestTarget {
  return {
    ingestLines: (block, source) => store.ingestLines(block, source),
    deliverySeen: async () => false,
    otlp: clickhouseOtlpStore(store),
    queuedWrites: 0,
  };
}
