import type { ClickHouseDb } from './client.js';

type Json = Record<string, any>;

/**
 * Steps that joined their execution after it was stored (OTLP child spans exported after their
 * tool call: store/clickhouse/otlp.ts), by execution. They are rows of their own, so a read adds
 * them to the steps in the execution's row; both engines then answer alike.
 */
export async function readLateSteps(ch: ClickHouseDb, ids: readonly string[]): Promise<Map<string, Json[]>> {
  const late = new Map<string, Json[]>();
  if (ids.length === 0) return late;
  const rows = await ch.all<{ execution_id: string; step: string }>(
    `SELECT execution_id, any(step) AS step FROM ${ch.t('late_steps')} WHERE execution_id IN {ids:Array(String)} GROUP BY execution_id, span_id`,
    { ids: [...new Set(ids)] },
  );
  for (const r of rows) late.set(r.execution_id, [...(late.get(r.execution_id) ?? []), JSON.parse(r.step) as Json]);
  return late;
}

/**
 * An execution's steps: those of its row, then the late ones its row did not take (a copy of the
 * call stored after the child was held took it), in the order they started, numbered on.
 */
export function withLateSteps(rowSteps: readonly Json[], late: readonly Json[] | undefined): Json[] {
  if (!late?.length) return [...rowSteps];
  const taken = new Set(rowSteps.map((s) => s.span_id).filter((id) => typeof id === 'string'));
  const next = rowSteps.reduce((max, s) => Math.max(max, Number(s.index) + 1), 0);
  const added = late
    .filter((s) => !taken.has(s.span_id))
    .sort((a, b) => (a.started_at ?? '\uffff').localeCompare(b.started_at ?? '\uffff') || String(a.span_id).localeCompare(String(b.span_id)));
  return [...rowSteps, ...added.map((s, i) => ({ ...s, index: next + i }))];
}

/**
 * The step counts, late steps included, of those of these executions that have late steps (the
 * others' rows count theirs); their rows' steps are read only then.
 */
export async function lateStepCounts(ch: ClickHouseDb, ids: readonly string[]): Promise<Map<string, number>> {
  const late = await readLateSteps(ch, ids);
  if (late.size === 0) return new Map();
  const rows = await ch.all<{ execution_id: string; steps: string }>(
    `SELECT execution_id, steps FROM ${ch.t('executions')} FINAL WHERE execution_id IN {ids:Array(String)}`,
    { ids: [...late.keys()] },
  );
  return new Map(rows.map((r) => [r.execution_id, withLateSteps(JSON.parse(r.steps) as Json[], late.get(r.execution_id)).length]));
}

/** Rows with their late steps counted in step_count. */
export async function countLateSteps<T extends { execution_id: string; step_count: number }>(ch: ClickHouseDb, rows: T[]): Promise<T[]> {
  const counts = await lateStepCounts(ch, rows.map((r) => r.execution_id));
  return counts.size === 0 ? rows : rows.map((r) => (counts.has(r.execution_id) ? { ...r, step_count: counts.get(r.execution_id)! } : r));
}
