import type { BatchResult } from '../ingest/batch.js';
import { ingestLines } from '../ingest/batch.js';
import type { LineBlock } from '../ingest/lines.js';
import { ingestOtlpMetrics, ingestOtlpTraces, type OtlpOutcome } from '../ingest/otlp-ingest.js';
import type { ClickHouseStore } from '../store/clickhouse/store.js';
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
  /** OTLP traces and metrics, where the store keeps spans waiting for their tool call; absent elsewhere. */
  otlp?: {
    traces(payload: unknown, source: string): Promise<OtlpOutcome>;
    metrics(payload: unknown): Promise<OtlpOutcome>;
  };
  /** Writes queued behind the store's writer (reported by /healthz). */
  readonly queuedWrites: number;
}

export function duckdbIngestTarget(store: Store): IngestTarget {
  return {
    ingestLines: (block, source, deliveryId) => ingestLines(store, block, source, { deliveryId }),
    deliverySeen: (id) => deliverySeen(store, id),
    otlp: {
      traces: (payload, source) => ingestOtlpTraces(store, payload, source),
      metrics: (payload) => ingestOtlpMetrics(store, payload),
    },
    get queuedWrites() {
      return store.queuedWrites;
    },
  };
}

/**
 * ClickHouse: records are idempotent by their version, so a webhook delivered twice stores
 * nothing the second time (its records count as duplicates); deliveries are not remembered.
 * OTLP is not taken yet: assembling spans needs the waiting-span tables only DuckDB keeps.
 */
export function clickhouseIngestTarget(store: ClickHouseStore): IngestTarget {
  return {
    ingestLines: (block, source) => store.ingestLines(block, source),
    deliverySeen: async () => false,
    queuedWrites: 0,
  };
}
