import { announceIngested } from './ingested.js';
import type { Store } from '../store/store.js';
import { commitBatch, type BatchResult, type CommitOptions } from '../store/ingest-write.js';
import type { LineBlock } from './lines.js';
import { prepareBatchYielding } from './prepare.js';

export type { BatchResult } from '../store/ingest-write.js';

/**
 * Validates a block of raw lines (in JavaScript, once per line) and hands the valid records, the
 * quarantined lines and whatever `options` names (a tailer's checkpoint, a webhook's delivery id)
 * to the store, which commits them in one transaction.
 */
export async function ingestLines(store: Store, block: LineBlock, source: string, options: Omit<CommitOptions, 'source'> = {}): Promise<BatchResult> {
  const batch = await prepareBatchYielding(block, store.clock.now());
  try {
    const result = await commitBatch(store, batch, { ...options, source });
    if (!result.duplicate_delivery) announceIngested(store, result);
    return result;
  } finally {
    batch.release();
  }
}

export interface IngestSummary {
  files: number;
  lines: number;
  inserted: number;
  updated: number;
  duplicates: number;
  quarantined: Record<string, number>;
}

export function emptySummary(): IngestSummary {
  return { files: 0, lines: 0, inserted: 0, updated: 0, duplicates: 0, quarantined: {} };
}

export function addBatch(summary: IngestSummary, batch: BatchResult): void {
  summary.lines += batch.lines;
  summary.inserted += batch.inserted;
  summary.updated += batch.updated;
  summary.duplicates += batch.duplicates;
  for (const [reason, n] of Object.entries(batch.quarantined)) {
    summary.quarantined[reason] = (summary.quarantined[reason] ?? 0) + n;
  }
}

export function quarantinedTotal(summary: IngestSummary): number {
  return Object.values(summary.quarantined).reduce((a, b) => a + b, 0);
}
