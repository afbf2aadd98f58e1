import { sqlTime } from '../../clock.js';
import { missedChildren, toolCallExecutionId } from '../../ingest/otlp.js';
import { HELD_SPAN_TTL_MS } from '../otlp-held.js';
import type { HeldSpan, LateStep, OtlpStore } from '../../ingest/otlp-store.js';
import type { ClickHouseDb } from './client.js';
import type { ClickHouseStore } from './store.js';

/** How long held spans are counted (migration 8 expires them after a day). */
const HELD_SPAN_KEPT_MS = 86_400_000;

/**
 * OTLP on ClickHouse, where several instances take exports at once and a call and its child may
 * reach two of them together. Nothing is read, changed and written back (migration 8 says how
 * the tables differ from DuckDB's): a span without its parent is always held first, and its
 * parent looked up after; a call's record is stored first, and the spans held for it looked up
 * after. Of two instances doing this at once, the later lookup sees the other's row (ClickHouse
 * confirms an insert before the next query is sent; in a cluster the lookups read with sequential
 * consistency), so a child is never lost; both may see it, and a late step is keyed by its span,
 * so the second copy is the same row.
 */
export function clickhouseOtlpStore(store: ClickHouseStore): OtlpStore {
  const ch = store.ch;
  const waitedFrom = () => sqlTime(new Date(store.clock.now().getTime() - HELD_SPAN_TTL_MS));
  const heldChildren = async (parents: ReadonlyArray<{ traceId: string; spanId: string }>): Promise<HeldSpan[]> => {
    if (parents.length === 0) return [];
    const rows = await ch.all<{ trace_id: string; parent_span_id: string; span_id: string; span: string }>(
      `SELECT trace_id, parent_span_id, span_id, any(span) AS span FROM ${ch.t('otlp_held_spans')}
       WHERE trace_id IN {traces:Array(String)} AND concat(trace_id, '-', parent_span_id) IN {parents:Array(String)}
       GROUP BY trace_id, parent_span_id, span_id HAVING min(received_at) >= {from:DateTime64(6, 'UTC')}
       ORDER BY trace_id, parent_span_id, span_id${ch.sequentialReads}`,
      { traces: [...new Set(parents.map((p) => p.traceId))], parents: parents.map((p) => toolCallExecutionId(p.traceId, p.spanId)), from: waitedFrom() },
    );
    return rows.map((r) => ({ ...r, span: JSON.parse(r.span) as Record<string, unknown> }));
  };
  return {
    heldChildren,
    ingestRecords: (block, source) => store.ingestLines(block, source),
    async placeSpans(calls, groups) {
      if (calls.length === 0 && groups.length === 0) return;
      const receivedAt = sqlTime(store.clock.now());
      await ch.insert(
        'otlp_held_spans',
        groups.flatMap((g) => g.held.map((h) => ({ trace_id: h.trace_id, parent_span_id: h.parent_span_id, span_id: h.span_id, span: JSON.stringify(h.span), received_at: receivedAt }))),
      );
      const stored = await storedExecutions(ch, [...groups.map((g) => g.executionId), ...calls.map((c) => toolCallExecutionId(c.traceId, c.spanId))]);
      const late = groups.filter((g) => stored.has(g.executionId)).flatMap((g) => g.late.map((step) => lateRow(g.executionId, step)));
      const storedCalls = calls.filter((c) => stored.has(toolCallExecutionId(c.traceId, c.spanId)));
      for (const { executionId, steps } of missedChildren(storedCalls, await heldChildren(storedCalls))) late.push(...steps.map((step) => lateRow(executionId, step)));
      await ch.insert('late_steps', late);
    },
    async addMetricPoints(points) {
      await ch.insert(
        'mcp_metric_points',
        points.map((p) => ({
          series: p.series, start_ns: p.start_ns, time_ns: p.time_ns, cumulative: p.cumulative, minute: sqlTime(new Date(p.minute)),
          side: p.side, server: p.server, tool: p.tool, failed: p.failed, count: p.count, sum_ms: p.sum_ms,
        })),
      );
    },
    async heldSpanStats() {
      // A held span whose call is stored is that call's step; the others wait, or, past their
      // period, are orphans: those of the last day (older rows expire), so /healthz reads a day.
      const row = await ch.one<{ waiting: number; orphans: number }>(
        `WITH held AS (SELECT trace_id, parent_span_id, span_id, min(received_at) AS received FROM ${ch.t('otlp_held_spans')}
                       WHERE received_at >= {day:DateTime64(6, 'UTC')} GROUP BY ALL)
         SELECT countIf(received >= {from:DateTime64(6, 'UTC')}) AS waiting, countIf(received < {from:DateTime64(6, 'UTC')}) AS orphans
         FROM held WHERE concat(trace_id, '-', parent_span_id) NOT IN (
           SELECT execution_id FROM ${ch.t('executions')} WHERE execution_id IN (SELECT concat(trace_id, '-', parent_span_id) FROM held))`,
        { from: waitedFrom(), day: sqlTime(new Date(store.clock.now().getTime() - HELD_SPAN_KEPT_MS)) },
      );
      return { waiting: Number(row?.waiting ?? 0), orphans: Number(row?.orphans ?? 0) };
    },
  };
}

function lateRow(executionId: string, step: LateStep) {
  return { execution_id: executionId, span_id: step.span_id, step: JSON.stringify(step) };
}

async function storedExecutions(ch: ClickHouseDb, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await ch.all<{ id: string }>(`SELECT DISTINCT execution_id AS id FROM ${ch.t('executions')} WHERE execution_id IN {ids:Array(String)}${ch.sequentialReads}`, { ids: [...new Set(ids)] });
  return new Set(rows.map((r) => r.id));
}
