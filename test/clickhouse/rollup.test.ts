import { describe, expect, it } from 'vitest';
import { clickhouseAnalytics } from '../../src/analytics/clickhouse/index.js';
import { duckdbAnalytics } from '../../src/analytics/duckdb/index.js';
import { costReport } from '../../src/analytics/cost.js';
import { usageSummary } from '../../src/analytics/usage.js';
import { unusedTools } from '../../src/analytics/unused.js';
import type { AnalyticsBackend } from '../../src/analytics/backend.js';
import type { TimeRange } from '../../src/analytics/time-range.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { blockFromText } from '../../src/ingest/lines.js';
import { refreshRollup } from '../../src/store/clickhouse/rollup.js';
import type { ClickHouseStore } from '../../src/store/clickhouse/store.js';
import { lines, openTestStore, record, TEST_NOW } from '../helpers.js';
import { openClickHouseTestStore } from './helpers.js';

/** Two whole UTC days (so the day level is read) holding every record here: the window each answer is asked over. */
const WINDOW: TimeRange = { from: new Date('2026-10-29T00:00:00Z'), to: new Date('2026-10-31T00:00:00Z') };

const at = (hour: number, minute = 0) => `2026-10-30T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00Z`;
const run = (id: string, hour: number, overrides = {}) => record(id, { started_at: at(hour), ended_at: at(hour, 1), ...overrides });

/** What the store's rollup-backed answers say, hour by hour and in total. */
async function answers(backend: AnalyticsBackend) {
  const usage = await usageSummary(backend, { range: WINDOW, filters: {}, bucket: 'hour' });
  const cost = await costReport(backend, { range: WINDOW, filters: {}, groupBy: 'user', limit: 10 });
  const unused = await unusedTools(backend, { range: WINDOW, limit: 50 });
  return { usage, cost, unused };
}

async function generations(house: ClickHouseStore): Promise<Array<{ hour: string; n: number }>> {
  return house.ch.all(`SELECT toString(hour) AS hour, uniqExact(generation) AS n FROM ${house.ch.t('rollup_hours')} GROUP BY hour ORDER BY hour`);
}

describe('ClickHouse rollup (hours and days): exact while records replace others', () => {
  it('a replacement that moves an execution to another hour marks both hours; answers match DuckDB before and after each refresh', async () => {
    const duck = await openTestStore();
    const house = await openClickHouseTestStore(TEST_NOW);
    const duckAnswers = () => answers(duckdbAnalytics((task) => duck.read(task)));
    const houseAnswers = () => answers(clickhouseAnalytics(house.ch));
    const both = async (text: string) => {
      await ingestLines(duck, blockFromText(text), 'test');
      await house.ingestLines(blockFromText(text), 'test');
    };
    await both(lines(run('a', 9, { status: 'running', ended_at: undefined }), run('b', 9), run('c', 14, { user: { id: 'u_bo', team: 'eng' } })));
    expect(await refreshRollup(house.ch, { settleMs: 0 })).toMatchObject({ hours: 2, waiting: 0 });
    expect(await houseAnswers()).toEqual(await duckAnswers());

    // a's final record starts an hour later, with another user and tool: 09:00 loses it, 10:00 gains it.
    await both(lines(run('a', 10, { tool: { name: 'slack_post', server: 'chat' }, user: { id: 'u_cy' }, cost_usd: 0.25 })));
    expect(await houseAnswers()).toEqual(await duckAnswers());
    const report = await refreshRollup(house.ch, { settleMs: 0 });
    expect(report).toMatchObject({ hours: 2, waiting: 0 });
    expect(await houseAnswers()).toEqual(await duckAnswers());
    const hourly = (await houseAnswers()).usage.series.filter((b) => b.total > 0).map((b) => [b.start, b.total]);
    expect(hourly).toEqual([['2026-10-30T09:00:00.000Z', 1], ['2026-10-30T10:00:00.000Z', 1], ['2026-10-30T14:00:00.000Z', 1]]);
    // 09:00 was counted twice (two generations), 10:00 once, 14:00 once.
    expect(await generations(house)).toEqual([
      { hour: '2026-10-30 09:00:00.000000', n: 2 },
      { hour: '2026-10-30 10:00:00.000000', n: 1 },
      { hour: '2026-10-30 14:00:00.000000', n: 1 },
    ]);
    // A repeat changes nothing, so it marks nothing.
    await both(lines(run('b', 9)));
    expect(await refreshRollup(house.ch, { settleMs: 0 })).toMatchObject({ hours: 0, waiting: 0 });
  });

  it('a marked hour waits until its latest mark has settled, and is counted from executions meanwhile', async () => {
    const duck = await openTestStore();
    const house = await openClickHouseTestStore(TEST_NOW);
    const text = lines(run('a', 9), run('b', 11), run('c', 11, { status: 'failed' }));
    await ingestLines(duck, blockFromText(text), 'test');
    await house.ingestLines(blockFromText(text), 'test');
    expect(await refreshRollup(house.ch, { settleMs: 3_600_000 })).toEqual({ hours: 0, days: 0, rows: 0, waiting: 2 });
    expect(await answers(clickhouseAnalytics(house.ch))).toEqual(await answers(duckdbAnalytics((task) => duck.read(task))));
    expect(await refreshRollup(house.ch, { settleMs: 0, maxHours: 1 })).toMatchObject({ hours: 1, waiting: 1 });
    expect(await answers(clickhouseAnalytics(house.ch))).toEqual(await answers(duckdbAnalytics((task) => duck.read(task))));
  });

  it('writers and refreshes at once, from two instances: the answers equal DuckDB\'s after every step', async () => {
    const duck = await openTestStore();
    const database = `r${process.pid}`;
    const first = await openClickHouseTestStore(TEST_NOW, database);
    const second = await openClickHouseTestStore(TEST_NOW, database);
    // Each id: running, then two finals in different hours; the batches interleave across writers.
    const records = Array.from({ length: 240 }, (_, i) => [
      run(`x${i}`, i % 24, { status: 'running', ended_at: undefined }),
      run(`x${i}`, (i + 5) % 24, { ended_at: `2026-10-30T${String((i + 5) % 24).padStart(2, '0')}:30:00Z`, status: i % 4 === 0 ? 'failed' : 'succeeded', cost_usd: i % 3 ? 0.01 * i : undefined }),
      run(`x${i}`, (i + 7) % 24, { ended_at: `2026-10-30T${String((i + 7) % 24).padStart(2, '0')}:10:00Z`, status: 'stopped' }),
    ]).flat();
    const batches = Array.from({ length: 12 }, (_, b) => records.filter((_, i) => i % 12 === b));
    await ingestLines(duck, blockFromText(lines(...batches.flat())), 'one');
    let refreshes = 0;
    let writing = true;
    const refresher = async (store: ClickHouseStore) => {
      while (writing) {
        await refreshRollup(store.ch, { settleMs: 0 });
        refreshes++;
      }
    };
    const writer = async (store: ClickHouseStore, mine: typeof batches) => {
      for (const batch of mine) await store.ingestLines(blockFromText(lines(...batch)), 'writer');
    };
    const refreshing = Promise.all([refresher(first), refresher(second)]);
    await Promise.all([writer(first, batches.filter((_, i) => i % 2 === 0)), writer(second, batches.filter((_, i) => i % 2 === 1).reverse())]);
    writing = false;
    await refreshing;
    expect(refreshes).toBeGreaterThan(1);
    const expected = await answers(duckdbAnalytics((task) => duck.read(task)));
    expect(await answers(clickhouseAnalytics(first.ch))).toEqual(expected);
    await refreshRollup(second.ch, { settleMs: 0 });
    expect(await answers(clickhouseAnalytics(first.ch))).toEqual(expected);
    // Every hour is now current: the answers come from the rollup alone, and are still DuckDB's.
    expect(await refreshRollup(first.ch, { settleMs: 0 })).toMatchObject({ hours: 0, waiting: 0 });
    expect(await answers(clickhouseAnalytics(second.ch))).toEqual(expected);
  });

  it('superseded generations are kept an hour (queries may have chosen them), then deleted by a refresh', async () => {
    const house = await openClickHouseTestStore(TEST_NOW);
    await house.ingestLines(blockFromText(lines(run('a', 9), run('b', 10))), 'test');
    await refreshRollup(house.ch, { settleMs: 0 });
    await house.ingestLines(blockFromText(lines(run('a', 9, { status: 'failed', ended_at: at(9, 5) }))), 'test');
    expect(await refreshRollup(house.ch, { settleMs: 0 })).toMatchObject({ hours: 1 });
    const stored = () =>
      house.ch.all<{ hour: string; generations: number; n: number }>(
        `SELECT toString(hour) AS hour, uniqExact(generation) AS generations, sum(n) AS n FROM ${house.ch.t('hourly_usage')} GROUP BY hour ORDER BY hour`,
      );
    expect(await generations(house)).toEqual([{ hour: '2026-10-30 09:00:00.000000', n: 2 }, { hour: '2026-10-30 10:00:00.000000', n: 1 }]);
    expect(await stored()).toEqual([{ hour: '2026-10-30 09:00:00.000000', generations: 2, n: 2 }, { hour: '2026-10-30 10:00:00.000000', generations: 1, n: 1 }]);
    // Past the keep time (none here), the next refresh that recomputes anything deletes the old generation.
    await house.ingestLines(blockFromText(lines(run('b', 10, { status: 'failed', ended_at: at(10, 5) }))), 'test');
    expect(await refreshRollup(house.ch, { settleMs: 0, keepSupersededMs: 0 })).toMatchObject({ hours: 1 });
    expect(await generations(house)).toEqual([{ hour: '2026-10-30 09:00:00.000000', n: 1 }, { hour: '2026-10-30 10:00:00.000000', n: 1 }]);
    expect(await stored()).toEqual([{ hour: '2026-10-30 09:00:00.000000', generations: 1, n: 1 }, { hour: '2026-10-30 10:00:00.000000', generations: 1, n: 1 }]);
    expect(await answers(clickhouseAnalytics(house.ch))).toMatchObject({ usage: { total_executions: 2, by_status: { failed: 2 } } });
  });
});
