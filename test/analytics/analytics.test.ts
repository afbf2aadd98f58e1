import { describe, expect, it } from 'vitest';
import { scanSpans, whoDroveSpike } from '../../src/analytics/spike.js';
import { previousRange, resolveRange, parseWindow } from '../../src/analytics/time-range.js';
import { usageSummary } from '../../src/analytics/usage.js';
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
    expect(() => parseWindow('500d')).toThrow(/at most 400d/);
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
    const report = await store.read((db) =>
      whoDroveSpike(db, { range: resolveRange({ from: '2026-10-27T00:00:00Z', to: '2026-11-01T00:00:00Z' }, clock), filters: {}, limit: 3 }),
    );
    expect(report.baseline_method).toBe('median_bucket');
    expect(report.baseline_explained).toMatch(/median hour of the window/);
    expect(report.spike).toMatchObject({ start: '2026-10-28T15:00:00.000Z', executions: 20, baseline: 0 });
    expect(report.contributors.users[0]!.key).toBe('u_bot');
  });

  it('who_drove_spike says so when nothing rose above its baseline', async () => {
    const records = smallFleet().filter((r) => String(r.execution_id).startsWith('ana_'));
    const store = await fixtureStore(records);
    const report = await store.read((db) => whoDroveSpike(db, { range: resolveRange({ window: '7d' }, clock), filters: {}, limit: 3 }));
    expect(report.spike).toBeNull();
    expect(report.note).toMatch(/no spike/);
  });

  it('usage_summary counts a superseded running record once, with its final status', async () => {
    const records = smallFleet();
    const running = { ...records.find((r) => r.execution_id === 'wf_fail')!, status: 'running', ended_at: undefined, error: undefined, steps: undefined };
    const store = await fixtureStore([running, ...records]);
    const usage = await usageSummary((task) => store.read(task), { range: resolveRange({ window: '7d' }, clock), filters: {} });
    expect(usage.total_executions).toBe(43);
    expect(usage.by_status.running).toBe(0);
  });
});
