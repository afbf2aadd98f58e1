import type { BatchResult } from './batch.js';
import { ingestLines } from './batch.js';
import type { LineBlock } from './lines.js';
import type { ToolCallPoint } from './otlp-metrics.js';
import type { stepFromSpan } from './otlp.js';
import type { Store } from '../store/store.js';
import { heldChildren, heldSpanStats, placeSpans } from '../store/otlp-held.js';
import { storeMetricPoints } from '../store/metrics.js';

/**
 * A span that arrived without its parent (OTLP exporters batch by end time: a tool call's child
 * ends first and often leaves in an earlier export than the call). It waits, keyed by its trace
 * and parent span, until the parent comes or its waiting period ends.
 */
export interface HeldSpan {
  trace_id: string;
  parent_span_id: string;
  span_id: string;
  /** The span as the OTLP JSON encoding has it. */
  span: Record<string, unknown>;
}

/**
 * A step that came after its execution was stored: a child span as stepFromSpan reads it, named by
 * its span id (across exports and instances), its error null when it has none.
 */
export type LateStep = Omit<ReturnType<typeof stepFromSpan>, 'error'> & {
  span_id: string;
  error: { type: string | null; message: string | null } | null;
};

/** The spans of one missing parent: held as spans, or added as late steps if the parent is stored. */
export interface OrphanGroup {
  executionId: string;
  held: HeldSpan[];
  late: LateStep[];
}

/**
 * A tool call of the request, and the child spans its record took as steps. Children held after
 * its record was made (a concurrent export) are added as late steps of the stored call.
 */
export interface MappedCall {
  traceId: string;
  spanId: string;
  taken: readonly string[];
}

/** /healthz's counts: spans waiting for their tool call, and those whose call never came within the period. */
export interface HeldSpanStats {
  waiting: number;
  orphans: number;
}

/**
 * What OTLP ingest reads and writes, per store: ingest/otlp-ingest.ts maps spans and points,
 * and never names an engine.
 */
export interface OtlpStore {
  /** Spans held for these tool calls (children exported before them), within their waiting period. */
  heldChildren(parents: ReadonlyArray<{ traceId: string; spanId: string }>): Promise<HeldSpan[]>;
  /** Mapped records, through the store's one ingest entry point (validation and quarantine included). */
  ingestRecords(block: LineBlock, source: string): Promise<BatchResult>;
  /**
   * After the records are stored: each group of spans whose parent was not in the request joins
   * that parent as late steps if it is stored, or waits for it; children held for a call of the
   * request that its record did not take join it as late steps.
   */
  placeSpans(calls: readonly MappedCall[], groups: readonly OrphanGroup[]): Promise<void>;
  /** Tool-call counts from the MCP operation metrics. */
  addMetricPoints(points: readonly ToolCallPoint[]): Promise<void>;
  heldSpanStats(): Promise<HeldSpanStats>;
}

export function duckdbOtlpStore(store: Store): OtlpStore {
  return {
    heldChildren: (parents) => store.read((db) => heldChildren(db, parents)),
    ingestRecords: (block, source) => ingestLines(store, block, source),
    placeSpans: (calls, groups) => placeSpans(store, calls, groups),
    addMetricPoints: async (points) => {
      await storeMetricPoints(store, points);
    },
    heldSpanStats: () => store.read((db) => heldSpanStats(db, store.clock.now())),
  };
}
