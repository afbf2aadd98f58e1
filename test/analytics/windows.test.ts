import { describe, expect, it } from 'vitest';
import { resolveRange } from '../../src/analytics/time-range.js';
import { fixedClock } from '../../src/clock.js';
import { call, connect, fixtureStore, text } from '../mcp/harness.js';

// A Wednesday afternoon in UTC; in Berlin (UTC+1 in November) the same instant.
const NOW = fixedClock(new Date('2026-11-18T15:30:00Z'));
const range = (args: Parameters<typeof resolveRange>[0]) => {
  const r = resolveRange(args, NOW);
  return [r.from.toISOString(), r.to.toISOString()];
};

describe('windows a person says', () => {
  it('calendar windows, aligned in UTC', () => {
    expect(range({ window: 'today' })).toEqual(['2026-11-18T00:00:00.000Z', '2026-11-18T15:30:00.000Z']);
    expect(range({ window: 'yesterday' })).toEqual(['2026-11-17T00:00:00.000Z', '2026-11-18T00:00:00.000Z']);
    expect(range({ window: 'this_week' })).toEqual(['2026-11-16T00:00:00.000Z', '2026-11-18T15:30:00.000Z']);
    expect(range({ window: 'last_week' })).toEqual(['2026-11-09T00:00:00.000Z', '2026-11-16T00:00:00.000Z']);
    expect(range({ window: 'this_month' })).toEqual(['2026-11-01T00:00:00.000Z', '2026-11-18T15:30:00.000Z']);
    expect(range({ window: 'last_month' })).toEqual(['2026-10-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z']);
  });

  it('calendar windows in an IANA time zone, across a change of daylight saving time', () => {
    expect(range({ window: 'today', tz: 'Europe/Berlin' })).toEqual(['2026-11-17T23:00:00.000Z', '2026-11-18T15:30:00.000Z']);
    // October 2026 in Berlin starts in summer time (UTC+2) and ends in winter time (UTC+1).
    expect(range({ window: 'last_month', tz: 'Europe/Berlin' })).toEqual(['2026-09-30T22:00:00.000Z', '2026-10-31T23:00:00.000Z']);
    expect(range({ window: 'yesterday', tz: 'America/New_York' })).toEqual(['2026-11-17T05:00:00.000Z', '2026-11-18T05:00:00.000Z']);
    expect(() => range({ window: 'today', tz: 'Mars/Olympus' })).toThrow(/tz must be an IANA time zone name like UTC, Europe\/Berlin/);
  });

  it('1mo and 1y are calendar lengths; plain dates are midnight in tz', () => {
    expect(range({ window: '1mo' })).toEqual(['2026-10-18T15:30:00.000Z', '2026-11-18T15:30:00.000Z']);
    expect(range({ window: '1y' })).toEqual(['2025-11-18T15:30:00.000Z', '2026-11-18T15:30:00.000Z']);
    expect(range({ from: '2026-10-28', to: '2026-10-30' })).toEqual(['2026-10-28T00:00:00.000Z', '2026-10-30T00:00:00.000Z']);
    expect(range({ from: '2026-10-28', tz: 'Asia/Tokyo' })).toEqual(['2026-10-27T15:00:00.000Z', '2026-11-18T15:30:00.000Z']);
    expect(() => range({ from: '2026-02-30' })).toThrow(/from is not a real date/);
    expect(() => range({ from: 'yesterday' })).toThrow(/from must be an RFC 3339 timestamp with a zone .* or a plain date .* For today, yesterday or last_week use window/);
  });

  it('a bad window says which forms are accepted and points to from/to, through a tool too', async () => {
    expect(() => range({ window: 'last tuesday' })).toThrow(
      /window must be a length back from now \(90m, 24h, 7d, 2w, 1mo, 1y\), or a calendar window \(today, yesterday, this_week, last_week, this_month, last_month\); for any other range give from\/to/,
    );
    const client = await connect(await fixtureStore());
    const bad = await call(client, 'usage_summary', { window: 'fortnight' });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/calendar window .* give from\/to/);
    const yesterday = await call(client, 'usage_summary', { window: 'yesterday' });
    expect(yesterday.structuredContent.window).toEqual({ from: '2026-10-31T00:00:00.000Z', to: '2026-11-01T00:00:00.000Z' });
    const plain = await call(client, 'list_executions', { from: '2026-10-30', to: '2026-10-31', user: 'u_ana' });
    expect(plain.structuredContent.executions.map((e: any) => e.execution_id)).toEqual(['ana_10-30_2', 'ana_10-30_1', 'wf_fail']);
  });
});
