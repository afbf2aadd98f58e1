import { describe, expect, it } from 'vitest';
import { scanSpans, whoDroveSpike } from '../../src/analytics/spike.js';
import { bucketStart, bucketStarts, previousRange, resolveRange, parseWindow } from '../../src/analytics/time-range.js';
import { round, usageSummary } from '../../src/analytics/usage.js';
import { costReport } from '../../src/analytics/cost.js';
import { duckdbAnalytics } from '../../src/analytics/duckdb/index.js';
import { unusedTools } from '../../src/analytics/unused.js';
import { storeCoverage } from '../../src/analytics/duckdb/coverage.js';
import { fixedClock } from '../../src/clock.js';
import { fixtureStore } from '../mcp/harness.js';
import { smallFleet } from '../fixtures/small-fleet.js';

const clock = fixedClock(new Date('2026-11-01T00:00:00Z'));

describe('time ranges', () => {
  it('resolves windows and explicit ranges against the injected clock', () => {
    expect(resolveRange({}, clock)).toEqual({ from: new Date('2026-10-25T00:00:00Z'), to: new Date('2026-11-01T00:00:00Z') });
    expect(resolveRange({ window: '90m' }, clock).from).toEqual(new Date('2026-10-31T22:30:00Z'));
    expect(resolveRange({ window: '2w' }, clock).from).toEqual(new Date('2026-10-18T00:00:00Z'));
    expect(resolveRange({ from: '2026-10-01T02:00:00+02:00' }, clock).from).toEqual(new Date('2026-10-01T00:00:00Z'));
    expect(resolveRange({ to: '2026-10-10T00:00:00Z' }, clock, '1d').from).toEqual(new Date('2026-10-09T00:00:00Z'));
    expect(previousRange(resolveRange({ window: '7d' }, clock))).toEqual({ from: new Date('2026-10-18T00:00:00Z'), to: new Date('2026-10-25T00:00:00Z') });
    expect(() => parseWindow('0d')).toThrow(/longer than zero/);
    expect(parseWindow('500d')).toBe(500 * 86_400_000);
    expect(() => parseWindow('40000d')).toThrow(/at most 100 years/);
  });
});

describe('bucket starts (the series of an engine that does not generate them in SQL)', () => {
  const at = (iso: string) => new Date(iso);
  it('truncates to the hour, the UTC day, the ISO week (Monday) and the month, and lists every bucket the range touches', () => {
    expect(bucketStart('hour', at('2026-10-28T15:59:59.999Z'))).toEqual(at('2026-10-28T15:00:00Z'));
    expect(bucketStart('day', at('2026-10-28T23:59:59Z'))).toEqual(at('2026-10-28T00:00:00Z'));
    // 2026-11-01 is a Sunday: its week began on Monday 2026-10-26.
    expect(bucketStart('week', at('2026-11-01T12:00:00Z'))).toEqual(at('2026-10-26T00:00:00Z'));
    expect(bucketStart('week', at('2026-10-26T00:00:00Z'))).toEqual(at('2026-10-26T00:00:00Z'));
    expect(bucketStart('month', at('2026-02-28T23:00:00Z'))).toEqual(at('2026-02-01T00:00:00Z'));
    expect(bucketStarts({ from: at('2026-10-31T22:30:00Z'), to: at('2026-11-01T01:00:00Z') }, 'hour')).toEqual([
      at('2026-10-31T22:00:00Z'), at('2026-10-31T23:00:00Z'), at('2026-11-01T00:00:00Z'),
    ]);
    expect(bucketStarts({ from: at('2026-01-31T00:00:00Z'), to: at('2026-04-01T00:00:00Z') }, 'month')).toEqual([
      at('2026-01-01T00:00:00Z'), at('2026-02-01T00:00:00Z'), at('2026-03-01T00:00:00Z'),
    ]);
    expect(bucketStarts({ from: at('2026-10-01T00:00:00Z'), to: at('2026-10-01T00:00:00Z') }, 'day')).toEqual([]);
  });

  it('rounds half up after snapping binary noise, so two engines that sum in another order agree', () => {
    expect(round(740.35, 1)).toBe(740.4);
    expect(round(740.3499999999999, 1)).toBe(740.4);
    expect(round(0.1 + 0.2, 1)).toBe(0.3);
    expect(round(2 / 3)).toBe(0.667);
    expect(round(740.34, 1)).toBe(740.3);
    expect(round(-1.25, 1)).toBe(-1.2);
  });
});

describe('store coverage (for empty answers)', () => {
  it('counts every execution, gives the oldest and newest start, and checks the half-open range', async () => {
    const store = await fixtureStore();
    const records = smallFleet();
    const starts = records.map((r) => r.started_at as string).sort();
    const newest = new Date(starts[starts.length - 1]!);
    const coverage = (from: Date, to: Date) => store.read((db) => storeCoverage(db, { from, to }));
    const whole = await coverage(new Date(starts[0]!), new Date(newest.getTime() + 1));
    expect(whole).toMatchObject({
      executions: new Set(records.map((r) => r.execution_id)).size,
      oldest_started_at: starts[0],
      newest_started_at: starts[starts.length - 1],
      in_range: true,
    });
    expect(Date.parse(whole.last_ingested_at!)).not.toBeNaN();
    // `from` is inclusive, `to` exclusive.
    expect((await coverage(newest, new Date(newest.getTime() + 1))).in_range).toBe(true);
    expect((await coverage(new Date(newest.getTime() - 1000), newest)).in_range).toBe(false);
  });
});

describe('spike scan spans', () => {
  const at = (iso: string) => new Date(iso);
  const DAY = 86_400_000;
  it('reads the period and the same hours on each previous day, nothing else', () => {
    const spans = scanSpans(at('2026-10-27T14:00:00Z'), at('2026-10-27T16:00:00Z'), DAY, 7);
    expect(spans).toHaveLength(8);
    expect(spans[0]).toEqual([at('2026-10-20T14:00:00Z'), at('2026-10-20T16:00:00Z')]);
    expect(spans[6]).toEqual([at('2026-10-26T14:00:00Z'), at('2026-10-26T16:00:00Z')]);
    expect(spans[7]).toEqual([at('2026-10-27T14:00:00Z'), at('2026-10-27T16:00:00Z')]);
  });

  it('merges spans that overlap when the period is a cycle long or longer, so no row is read twice', () => {
    expect(scanSpans(at('2026-10-27T00:00:00Z'), at('2026-10-28T12:00:00Z'), DAY, 7)).toEqual([
      [at('2026-10-20T00:00:00Z'), at('2026-10-28T12:00:00Z')],
    ]);
  });
});

describe('analytics functions called directly', () => {
  it('who_drove_spike falls back to the median bucket when there is no history', async () => {
    // Only the spike day and the days after it: nothing before the window to compare with.
    const records = smallFleet().filter((r) => (r.started_at as string) >= '2026-10-27');
    const store = await fixtureStore(records);
    const report = await (whoDroveSpike(duckdbAnalytics((task) => store.read(task)), { range: resolveRange({ from: '2026-10-27T00:00:00Z', to: '2026-11-01T00:00:00Z' }, clock), filters: {}, limit: 3 })
    );
    expect(report.baseline_method).toBe('median_bucket');
    expect(report.baseline_explained).toMatch(/median hour of the window/);
    expect(report.spike).toMatchObject({ start: '2026-10-28T15:00:00.000Z', executions: 20, baseline: 0 });
    expect(report.contributors.users[0]!.key).toBe('u_bot');
  });

  it('who_drove_spike says so when nothing rose above its baseline', async () => {
    const records = smallFleet().filter((r) => String(r.execution_id).startsWith('ana_'));
    const store = await fixtureStore(records);
    const report = await (whoDroveSpike(duckdbAnalytics((task) => store.read(task)), { range: resolveRange({ window: '7d' }, clock), filters: {}, limit: 3 }));
    expect(report.spike).toBeNull();
    expect(report.note).toMatch(/no spike/);
  });

  it('windows that do not start or end on the hour count exactly: whole hours from the rollup, the edges from executions', async () => {
    const store = await fixtureStore();
    const count = async (from: string, to: string, extra = '') =>
      (await store.read((db) => db.one<{ n: number }>(
        `SELECT count(*)::INTEGER AS n FROM executions WHERE started_at >= CAST($from AS TIMESTAMP) AND started_at < CAST($to AS TIMESTAMP) ${extra}`,
        { from: from.replace('T', ' ').replace('Z', ''), to: to.replace('T', ' ').replace('Z', '') },
      )))!.n;
    const ranges = [
      ['2026-10-28T15:05:00Z', '2026-10-28T15:31:00Z'], // inside one hour
      ['2026-10-28T14:59:00Z', '2026-10-28T16:01:00Z'], // two edges, one whole hour
      ['2026-10-27T10:17:00Z', '2026-10-29T15:21:00Z'], // days, with partial first and last hours
      ['2026-10-20T00:00:00Z', '2026-10-30T10:30:00Z'], // aligned start, partial end
    ];
    for (const [from, to] of ranges) {
      const range = resolveRange({ from, to }, clock);
      const usage = await usageSummary(duckdbAnalytics((task) => store.read(task)), { range, filters: {} });
      const previous = previousRange(range);
      expect(usage.total_executions, `${from} .. ${to}`).toBe(await count(from!, to!));
      expect(usage.by_status.failed, `${from} .. ${to}`).toBe(await count(from!, to!, "AND status = 'failed'"));
      expect(usage.previous_window.total_executions).toBe(await count(previous.from.toISOString(), previous.to.toISOString()));
      expect(usage.series.reduce((sum, b) => sum + b.total, 0)).toBe(usage.total_executions);
      const filtered = await usageSummary(duckdbAnalytics((task) => store.read(task)), { range, filters: { user: 'u_bot' } });
      expect(filtered.total_executions).toBe(await count(from!, to!, "AND user_id = 'u_bot'"));
    }
    // The spike counted from a window that ends mid-hour: only what happened before "now".
    const spike = await (whoDroveSpike(duckdbAnalytics((task) => store.read(task)), { range: resolveRange({ from: '2026-10-27T00:00:00Z', to: '2026-10-28T15:21:00Z' }, clock), filters: {}, limit: 3 })
    );
    expect(spike.spike?.executions).toBe(await count('2026-10-28T15:00:00Z', '2026-10-28T15:21:00Z'));
    expect(spike.contributors.users[0]).toMatchObject({ key: 'u_bot', executions: await count('2026-10-28T15:00:00Z', '2026-10-28T15:21:00Z', "AND user_id = 'u_bot'") });
    expect(spike.contributors.users[0]!.sample_execution_ids).toEqual(['bot_0', 'bot_1', 'bot_2']);
    // Cost and unused tools over a window with partial hours at both ends.
    const range = resolveRange({ from: '2026-10-27T10:17:00Z', to: '2026-10-29T15:21:00Z' }, clock);
    const cost = await costReport(duckdbAnalytics((task) => store.read(task)), { range, filters: {}, groupBy: 'user', limit: 10 });
    const tasks = await store.read((db) => db.all<{ user: string; tasks: number; n: number }>(
      `SELECT user_id AS user, sum(tasks)::DOUBLE AS tasks, count(*)::INTEGER AS n FROM executions
       WHERE started_at >= TIMESTAMP '2026-10-27 10:17:00' AND started_at < TIMESTAMP '2026-10-29 15:21:00' GROUP BY 1 ORDER BY 2 DESC, 1`));
    expect(cost.rows.map((r) => ({ user: r.key, tasks: r.tasks, n: r.executions }))).toEqual(tasks);
    expect(cost.total_tasks).toBe(tasks.reduce((sum, r) => sum + r.tasks, 0));
    // 10:01 and 10:02 are jira_create_issue; slack_post ran at 10:03, after the window.
    const unused = await unusedTools(duckdbAnalytics((task) => store.read(task)), { range: resolveRange({ from: '2026-10-31T10:00:30Z', to: '2026-10-31T10:02:30Z' }, clock), limit: 20 });
    expect(unused.tools.map((t) => t.name)).toContain('slack_post');
    expect(unused.tools.map((t) => t.name)).not.toContain('jira_create_issue');
  });

  it('usage_summary counts a superseded running record once, with its final status', async () => {
    const records = smallFleet();
    const running = { ...records.find((r) => r.execution_id === 'wf_fail')!, status: 'running', ended_at: undefined, error: undefined, steps: undefined };
    const store = await fixtureStore([running, ...records]);
    const usage = await usageSummary(duckdbAnalytics((task) => store.read(task)), { range: resolveRange({ window: '7d' }, clock), filters: {} });
    expect(usage.total_executions).toBe(43);
    expect(usage.by_status.running).toBe(0);
  });
});
