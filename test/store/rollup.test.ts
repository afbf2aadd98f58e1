import { describe, expect, it } from 'vitest';
import { blockFromText } from '../../src/ingest/lines.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { ROLLUP_DIMENSIONS } from '../../src/store/rollup.js';
import type { Store } from '../../src/store/store.js';
import { lines, openTestStore, record } from '../helpers.js';

const DIMS = ROLLUP_DIMENSIONS.join(', ');

/** hourly_usage against the same counts computed from every stored execution: rows that differ. */
async function rollupDrift(store: Store): Promise<unknown[]> {
  const fromRollup = `SELECT hour, ${DIMS}, sum(executions)::BIGINT AS n, round(sum(tasks), 9) AS tasks,
                             round(sum(cost_usd), 9) AS cost, sum(without_cost)::BIGINT AS without_cost
                      FROM hourly_usage GROUP BY ALL HAVING sum(executions) <> 0`;
  const fromExecutions = `SELECT date_trunc('hour', started_at) AS hour, ${DIMS}, count(*)::BIGINT AS n, round(sum(tasks), 9) AS tasks,
                                 round(sum(cost_usd), 9) AS cost, count(*) FILTER (cost_usd IS NULL)::BIGINT AS without_cost
                          FROM executions GROUP BY ALL`;
  return store.read((db) =>
    db.all(`SELECT 'rollup only' AS side, * FROM ((${fromRollup}) EXCEPT ALL (${fromExecutions}))
            UNION ALL SELECT 'executions only', * FROM ((${fromExecutions}) EXCEPT ALL (${fromRollup}))`),
  );
}

const at = (time: string) => `2026-10-30T${time}Z`;

describe('hourly_usage, the rollup the windowed tools read', () => {
  it('stays equal to the executions through inserts, repeats and replacements, within and across batches', async () => {
    const store = await openTestStore();
    const ingest = (...records: unknown[]) => ingestLines(store, blockFromText(lines(...records)), 'test');

    await ingest(
      record('a', { started_at: at('10:59:59'), ended_at: undefined, status: 'running', tasks: 1 }),
      record('b', { started_at: at('10:10:00'), status: 'failed', cost_usd: 0.25, tasks: 2 }),
      record('c', { started_at: at('11:30:00'), user: { id: 'u_ana', team: '' }, agent: { client: 'cursor' } }),
      record('d', { started_at: at('11:31:00'), user: { id: 'u_ana' }, agent: undefined, via_mcp: false }),
      // Replaced within the batch: only the final record may count.
      record('e', { started_at: at('12:00:00'), ended_at: undefined, status: 'running' }),
      record('e', { started_at: at('12:00:00'), ended_at: at('12:00:05'), status: 'succeeded', cost_usd: 1.5 }),
    );
    expect(await rollupDrift(store)).toEqual([]);

    await ingest(
      // Replaces the running record, which sat in another hour, with other tasks and a cost.
      record('a', { started_at: at('11:00:01'), ended_at: at('11:02:00'), status: 'failed', tasks: 3, cost_usd: 0.5 }),
      // A byte-identical repeat and an outranked running record change nothing.
      record('b', { started_at: at('10:10:00'), status: 'failed', cost_usd: 0.25, tasks: 2 }),
      record('e', { started_at: at('12:00:00'), ended_at: undefined, status: 'running' }),
      // A later-ending terminal record wins, and loses its cost.
      record('c', { started_at: at('11:30:00'), ended_at: at('11:40:00'), status: 'stopped', user: { id: 'u_ana', team: '' }, agent: { client: 'cursor' } }),
    );
    expect(await rollupDrift(store)).toEqual([]);

    const hours = await store.read((db) =>
      db.all<{ hour: string; n: number }>(`SELECT iso(hour) AS hour, sum(executions)::INTEGER AS n FROM hourly_usage GROUP BY 1 HAVING n <> 0 ORDER BY 1`),
    );
    expect(hours).toEqual([
      { hour: at('10:00:00.000'), n: 1 },
      { hour: at('11:00:00.000'), n: 3 },
      { hour: at('12:00:00.000'), n: 1 },
    ]);
  });

  it('keeps an empty team apart from a missing one', async () => {
    const store = await openTestStore();
    await ingestLines(store, blockFromText(lines(
      record('x', { user: { id: 'u', team: '' } }),
      record('y', { user: { id: 'u' } }),
    )), 'test');
    const teams = await store.read((db) => db.all(`SELECT user_team AS team, executions::INTEGER AS n FROM hourly_usage ORDER BY team NULLS LAST`));
    expect(teams).toEqual([{ team: '', n: 1 }, { team: null, n: 1 }]);
  });

  it('replaces an execution whose new record moved its start out of the batch\'s time span', async () => {
    // The merge looks for stored copies among executions started within the batch's span first;
    // this copy lies outside it, so the insert meets the primary key and the merge looks again
    // in the whole table.
    const store = await openTestStore();
    const ingest = (...records: unknown[]) => ingestLines(store, blockFromText(lines(...records)), 'test');
    const steps = (status: string) => [{ index: 0, name: 'Call', status, tasks: 2 }];
    await ingest(
      record('moved', { started_at: '2026-10-29T08:00:00Z', ended_at: '2026-10-29T08:00:04Z', status: 'failed', tool: { name: 'wf', kind: 'workflow' }, steps: steps('failed'), error: { type: 'timeout', layer: 'platform' } }),
      record('other', { started_at: '2026-10-29T08:30:00Z' }),
    );
    const result = await ingest(
      record('moved', { started_at: at('10:00:00'), ended_at: at('10:00:09'), status: 'succeeded', tool: { name: 'wf', kind: 'workflow' }, steps: [...steps('succeeded'), { index: 1, name: 'Notify', status: 'succeeded' }] }),
      record('new', { started_at: at('10:30:00') }),
    );
    expect(result).toMatchObject({ inserted: 1, updated: 1, duplicates: 0 });
    const rows = await store.read((db) =>
      db.all(`SELECT execution_id AS id, iso(started_at) AS started_at, status, step_count,
                     (SELECT count(*)::INTEGER FROM steps s WHERE s.execution_id = e.execution_id) AS steps,
                     (SELECT count(*)::INTEGER FROM failures f WHERE f.execution_id = e.execution_id) AS failures
              FROM executions e ORDER BY id`),
    );
    expect(rows).toEqual([
      { id: 'moved', started_at: at('10:00:00.000'), status: 'succeeded', step_count: 2, steps: 2, failures: 0 },
      { id: 'new', started_at: at('10:30:00.000'), status: 'succeeded', step_count: 0, steps: 0, failures: 0 },
      { id: 'other', started_at: '2026-10-29T08:30:00.000Z', status: 'succeeded', step_count: 0, steps: 0, failures: 0 },
    ]);
    expect(await rollupDrift(store)).toEqual([]);
    // A repeat of the moved record, in a batch of its own, is a duplicate.
    expect(await ingest(record('moved', { started_at: at('10:00:00'), ended_at: at('10:00:09'), status: 'succeeded', tool: { name: 'wf', kind: 'workflow' } }))).toMatchObject({ inserted: 0, updated: 0, duplicates: 1 });
  });
});
