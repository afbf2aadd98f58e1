import { describe, expect, it } from 'vitest';
import { loadBoth, sampleText, conformanceRanges as ranges, FILTERS } from './helpers.js';
import { costReport } from '../../src/analytics/cost.js';
import { resolveRange } from '../../src/analytics/time-range.js';
import { usageSummary } from '../../src/analytics/usage.js';
import { whoDroveSpike } from '../../src/analytics/spike.js';
import { fixedClock } from '../../src/clock.js';
import { generateLines } from '../../src/sample/generate.js';
import { SAMPLE_ANCHOR, SAMPLE_SPIKE } from '../../src/sample/fleet.js';

/**
 * One fixture into both engines, every ported question asked of both: the answers must be
 * deep-equal, the tools' text included. The sample fleet brings what the format allows and
 * the small fixtures lack: repeats, running-then-final pairs, malformed lines, costs, teams.
 */

describe('conformance: DuckDB and ClickHouse give the same answers', () => {
  it('usage_summary and the cost reports over the sample fleet, for windows, buckets and filters, and the spike day\'s drivers', async () => {
    const pair = await loadBoth(sampleText(), SAMPLE_ANCHOR);
    let compared = 0;
    const groupings = ['user', 'team', 'tool'] as const;
    for (const { name, range, bucket } of ranges(SAMPLE_ANCHOR)) {
      for (const filters of FILTERS) {
        const args = { range, filters, bucket };
        const [duck, house] = await Promise.all([usageSummary(pair.duck, args), usageSummary(pair.house, args)]);
        expect(house, `usage_summary ${name} ${JSON.stringify(filters)}`).toEqual(duck);
        // Each grouping over every window and a third of the combinations (its SQL differs by the
        // grouping only: the windows and filters are the usage queries' own, compared above).
        const groupBy = groupings[compared % groupings.length]!;
        const costArgs = { range, filters, groupBy, limit: 4 };
        const [d, h] = await Promise.all([costReport(pair.duck, costArgs), costReport(pair.house, costArgs)]);
        expect(h, `cost ${groupBy} ${name} ${JSON.stringify(filters)}`).toEqual(d);
        compared++;
      }
    }
    // The comparisons were not all of empty answers.
    const busy = await usageSummary(pair.house, { range: ranges(SAMPLE_ANCHOR)[0]!.range, filters: {} });
    expect(busy.total_executions).toBeGreaterThan(500);
    expect(busy.by_status.failed).toBeGreaterThan(0);
    expect(compared).toBe(30);
    // The spike day: its drivers are the same.
    const spikeDay = new Date(SAMPLE_SPIKE.from);
    const day = { from: new Date(Date.UTC(spikeDay.getUTCFullYear(), spikeDay.getUTCMonth(), spikeDay.getUTCDate())), to: new Date(Date.UTC(spikeDay.getUTCFullYear(), spikeDay.getUTCMonth(), spikeDay.getUTCDate() + 1)) };
    const [duckDay, houseDay] = await Promise.all([usageSummary(pair.duck, { range: day, filters: {} }), usageSummary(pair.house, { range: day, filters: {} })]);
    expect(houseDay).toEqual(duckDay);
    expect(houseDay.top_user_driver?.delta).toBeGreaterThan(0);
  });

  it('who_drove_spike for every window, baseline method, `at` and filter', async () => {
    // 70 days: a 35-day window in day buckets still has four weeks of history before it.
    const text = [...generateLines({ days: 70, perWeekday: 50, seed: 5, spike: true, runningFirstRate: 0.05, repeatRate: 0.03 })].join('\n');
    const pair = await loadBoth(text, SAMPLE_ANCHOR);
    const cases = [
      { name: '35 days by day', range: resolveRange({ window: '35d' }, fixedClock(new Date(SAMPLE_ANCHOR))), at: undefined as Date | undefined },
      ...ranges(SAMPLE_ANCHOR).map(({ name, range }) => ({ name, range, at: undefined as Date | undefined })),
      { name: 'the spike week', range: { from: new Date('2026-10-24T00:00:00Z'), to: new Date('2026-10-31T00:00:00Z') }, at: undefined },
      { name: 'at the spike', range: { from: new Date('2026-10-24T00:00:00Z'), to: new Date('2026-10-31T00:00:00Z') }, at: new Date(SAMPLE_SPIKE.from) },
      // Before the oldest data: no history, the window's median bucket.
      { name: 'the first days', range: { from: new Date('2026-10-01T00:00:00Z'), to: new Date('2026-10-05T12:30:00Z') }, at: undefined },
    ];
    const spikes: string[] = [];
    for (const [c, { name, range, at }] of cases.entries()) {
      // No filter, and two of the others in turn: each filter meets most cases.
      for (const filters of [FILTERS[0]!, FILTERS[1 + (c % 4)]!, FILTERS[1 + ((c + 2) % 4)]!]) {
        const args = { range, filters, at, limit: 3 };
        const [duck, house] = await Promise.all([whoDroveSpike(pair.duck, args), whoDroveSpike(pair.house, args)]);
        expect(house, `who_drove_spike ${name} ${JSON.stringify(filters)}`).toEqual(duck);
        if (duck.spike) spikes.push(`${duck.baseline_method}:${duck.contributors.users[0]?.key}`);
      }
    }
    // Both baseline methods were compared, with contributors, and the planted spike was found.
    expect(spikes.some((s) => s.startsWith('median_bucket:'))).toBe(true);
    expect(spikes).toContain(`same_hours_previous_days:${SAMPLE_SPIKE.user}`);
    expect(spikes.some((s) => s.startsWith('same_weekday_previous_weeks:'))).toBe(true);
  });
});
