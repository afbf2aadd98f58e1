import { sqlTime } from '../clock.js';
import { missedChildren } from '../ingest/otlp.js';
import type { HeldSpan, HeldSpanStats, LateStep, MappedCall, OrphanGroup } from '../ingest/otlp-store.js';
import type { Db, Store } from './store.js';

/**
 * Spans that arrived without their parent (OTLP exporters batch by end time: a tool call's child
 * ends first and often leaves in an earlier export than the call). They wait here, keyed by
 * their trace and parent span, until the parent comes (ingest attaches them as its steps) or
 * until they expire (HELD_SPAN_TTL_MS; most are children of spans that are no tool call at all).
 */
export const HELD_SPAN_TTL_MS = 60 * 60_000;
/** At most this many spans wait; past it the oldest go first. */
export const HELD_SPAN_CAP = 100_000;

/** Spans received before this (SQL time) have waited out their period. */
const waitedTooLong = (now: Date) => sqlTime(new Date(now.getTime() - HELD_SPAN_TTL_MS));

export async function holdSpans(db: Db, spans: readonly HeldSpan[], now: Date): Promise<void> {
  if (spans.length === 0) return;
  await db.run(
    `INSERT INTO otlp_held_spans
     SELECT s.trace_id, s.parent_span_id, s.span_id, s.span, CAST($now AS TIMESTAMP)
     FROM (SELECT unnest(from_json($spans, '[{"trace_id":"VARCHAR","parent_span_id":"VARCHAR","span_id":"VARCHAR","span":"JSON"}]'), recursive := true)) AS s`,
    { spans: JSON.stringify(spans), now: sqlTime(now) },
  );
  // What waited longer than the period, or past the cap, is an orphan now: counted, then dropped.
  const expired = { expired: waitedTooLong(now) };
  await db.run('UPDATE otlp_orphans SET expired = expired + (SELECT count(*) FROM otlp_held_spans WHERE received_at < CAST($expired AS TIMESTAMP))', expired);
  await db.run('DELETE FROM otlp_held_spans WHERE received_at < CAST($expired AS TIMESTAMP)', expired);
  // The cap is checked by a count (cheap) and enforced by a sort only when it is passed.
  const held = await heldSpanCount(db);
  if (held > HELD_SPAN_CAP) {
    await db.run(`UPDATE otlp_orphans SET expired = expired + ${held - HELD_SPAN_CAP}`);
    await db.run(`DELETE FROM otlp_held_spans WHERE rowid IN (SELECT rowid FROM otlp_held_spans ORDER BY received_at DESC OFFSET ${HELD_SPAN_CAP})`);
  }
}

/**
 * Spans waiting for their tool call, and orphans: those whose call never came within the
 * waiting period (dropped ones, and those past it not yet dropped). For /healthz.
 */
export async function heldSpanStats(db: Db, now: Date): Promise<HeldSpanStats> {
  const row = await db.one<{ waiting: number; overdue: number; expired: number }>(
    `SELECT count(*)::DOUBLE AS waiting, count(*) FILTER (received_at < CAST($expired AS TIMESTAMP))::DOUBLE AS overdue,
            (SELECT expired FROM otlp_orphans)::DOUBLE AS expired
     FROM otlp_held_spans`,
    { expired: waitedTooLong(now) },
  );
  return { waiting: (row?.waiting ?? 0) - (row?.overdue ?? 0), orphans: (row?.overdue ?? 0) + (row?.expired ?? 0) };
}

/** Which of these executions are stored: a child span whose call is stored is a late step, not one to hold. */
export async function storedExecutions(db: Db, executionIds: readonly string[]): Promise<Set<string>> {
  if (executionIds.length === 0) return new Set();
  const rows = await db.all<{ execution_id: string }>(
    `SELECT execution_id FROM executions
     WHERE execution_key IN (SELECT execution_key_of(id) FROM (SELECT unnest(from_json($ids, '["VARCHAR"]')) AS id))`,
    { ids: JSON.stringify(executionIds) },
  );
  return new Set(rows.map((r) => r.execution_id));
}

/** The held children of these spans (trace id, span id), to attach as their steps. */
export async function heldChildren(db: Db, parents: ReadonlyArray<{ traceId: string; spanId: string }>): Promise<HeldSpan[]> {
  if (parents.length === 0) return [];
  const rows = await db.all<{ trace_id: string; parent_span_id: string; span_id: string; span: string }>(
    `SELECT trace_id, parent_span_id, span_id, span::VARCHAR AS span FROM otlp_held_spans
     WHERE (trace_id, parent_span_id) IN (SELECT (p.traceId, p.spanId) FROM (SELECT unnest(from_json($parents, '[{"traceId":"VARCHAR","spanId":"VARCHAR"}]'), recursive := true)) AS p)`,
    { parents: JSON.stringify(parents) },
  );
  return rows.map((r) => ({ ...r, span: JSON.parse(r.span) as Record<string, unknown> }));
}

/** Takes the held children of stored tool calls out: they are their steps now. */
export async function releaseHeld(db: Db, parents: ReadonlyArray<{ traceId: string; spanId: string }>): Promise<void> {
  if (parents.length === 0) return;
  await db.run(
    `DELETE FROM otlp_held_spans
     WHERE (trace_id, parent_span_id) IN (SELECT (p.traceId, p.spanId) FROM (SELECT unnest(from_json($parents, '[{"traceId":"VARCHAR","spanId":"VARCHAR"}]'), recursive := true)) AS p)`,
    { parents: JSON.stringify(parents) },
  );
}

export async function heldSpanCount(db: Db): Promise<number> {
  return (await db.one<{ n: number }>('SELECT count(*)::INTEGER AS n FROM otlp_held_spans'))?.n ?? 0;
}

/**
 * Adds steps to a stored execution (a child span exported after its tool call), after its last
 * one, and counts them in step_count. Returns false when no such execution is stored. The
 * execution keeps the kind, tasks and failing connector it was stored with: changing them would
 * move it between the rollup's rows for a step that may never matter to a count.
 */
export async function appendSteps(db: Db, executionId: string, steps: readonly LateStep[]): Promise<boolean> {
  const stored = await db.one<{ n: number }>('SELECT count(*)::INTEGER AS n FROM executions WHERE execution_key = execution_key_of($id)', { id: executionId });
  if (!stored?.n || steps.length === 0) return Boolean(stored?.n);
  await db.run(
    `INSERT INTO steps (execution_id, step_index, name, connector, operation, status, started_at, ended_at, error_type, error_message, execution_key)
     SELECT $id, (SELECT coalesce(max(step_index) + 1, 0) FROM steps WHERE execution_key = execution_key_of($id)) + s.i - 1,
            s.name, s.connector, s.operation, s.status,
            timezone('UTC', try_cast(s.started_at AS TIMESTAMPTZ)), timezone('UTC', try_cast(s.ended_at AS TIMESTAMPTZ)),
            s.error_type, s.error_message, execution_key_of($id)
     FROM (SELECT row_number() OVER () AS i, * FROM (SELECT unnest(from_json($steps,
           '[{"name":"VARCHAR","connector":"VARCHAR","operation":"VARCHAR","status":"VARCHAR","started_at":"VARCHAR","ended_at":"VARCHAR","error_type":"VARCHAR","error_message":"VARCHAR"}]'), recursive := true))) AS s`,
    { id: executionId, steps: JSON.stringify(steps.map((s) => ({ ...s, error_type: s.error?.type ?? null, error_message: s.error?.message ?? null }))) },
  );
  await db.run('UPDATE executions SET step_count = step_count + $n WHERE execution_key = execution_key_of($id)', { id: executionId, n: steps.length });
  return true;
}

/**
 * After a request's records are stored, in one write: the children held for its tool calls that
 * their records did not take (held by a concurrent export after the record was made) join them as
 * late steps, and are released; each group of spans whose parent was not in the request joins that
 * parent as late steps when it is stored (a child exported after its call), or waits for it.
 */
export async function placeSpans(store: Store, calls: readonly MappedCall[], groups: readonly OrphanGroup[]): Promise<void> {
  if (calls.length === 0 && groups.length === 0) return;
  await store.write(async (db) => {
    const held = await heldChildren(db, calls);
    for (const { executionId, steps } of missedChildren(calls, held)) await appendSteps(db, executionId, steps);
    await releaseHeld(db, calls);
    // One lookup for every parent: most orphans wait for a call that has not come yet.
    const stored = await storedExecutions(db, groups.map((g) => g.executionId));
    const toHold: HeldSpan[] = [];
    for (const group of groups) {
      if (stored.has(group.executionId)) await appendSteps(db, group.executionId, group.late);
      else toHold.push(...group.held);
    }
    await holdSpans(db, toHold, store.clock.now());
  });
}
