import { describe, expect, it } from 'vitest';
import { resolveRange, seriesBucket } from '../../src/analytics/time-range.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { blockFromText } from '../../src/ingest/lines.js';
import { openTestStore, record } from '../helpers.js';
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
      /window must be a length back from now \(90m, 24h, 7d, 2w, 1mo, 1y\), a calendar window \(today, yesterday, this_week, last_week, this_month, last_month\), or all \(from the oldest execution\); for any other range give from\/to/,
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

  it('all starts at the midnight before the oldest execution (in tz); with nothing stored it is today', () => {
    const oldest = new Date('2024-02-29T10:15:00Z');
    const all = (tz?: string, from: Date | null = oldest) => {
      const r = resolveRange({ window: 'all', tz }, NOW, '7d', from);
      return [r.from.toISOString(), r.to.toISOString()];
    };
    expect(all()).toEqual(['2024-02-29T00:00:00.000Z', '2026-11-18T15:30:00.000Z']);
    expect(all('America/Los_Angeles')).toEqual(['2024-02-29T08:00:00.000Z', '2026-11-18T15:30:00.000Z']);
    expect(all(undefined, null)).toEqual(['2026-11-18T00:00:00.000Z', '2026-11-18T15:30:00.000Z']);
    // Longer than the old 400-day limit: answered, in coarser buckets.
    expect(seriesBucket({ from: new Date('2024-02-29T00:00:00Z'), to: NOW.now() })).toBe('week');
    expect(seriesBucket({ from: new Date('2016-01-01T00:00:00Z'), to: NOW.now() })).toBe('month');
    expect(seriesBucket({ from: new Date('2025-11-01T00:00:00Z'), to: NOW.now() })).toBe('day');
    expect(() => resolveRange({ from: '2026-01-01', to: '2206-01-01' }, NOW)).toThrow(/at most 100 years long; check the years/);
  });

  it('window all and ranges over 400 days: usage_summary in week or month buckets that add up, every tool answers', async () => {
    // One execution at noon on the first of every month for three years, December 2023 to November 2026.
    const store = await openTestStore('2026-11-18T15:30:00Z');
    const lines: string[] = [];
    for (let m = 0; m < 36; m++) {
      const start = new Date(Date.UTC(2023, 11 + m, 1, 12));
      lines.push(JSON.stringify(record(`m_${m}`, { started_at: start.toISOString(), ended_at: new Date(start.getTime() + 1000).toISOString(), status: m % 6 === 0 ? 'failed' : 'succeeded', ...(m % 6 === 0 ? { error: { type: 'timeout', layer: 'tool', message: 'slow' } } : {}) })));
    }
    await ingestLines(store, blockFromText(lines.join('\n')), 'months');
    const client = await connect(store);
    const all = await call(client, 'usage_summary', { window: 'all' });
    expect(all.isError).toBeFalsy();
    expect(all.structuredContent.window).toEqual({ from: '2023-12-01T00:00:00.000Z', to: '2026-11-18T15:30:00.000Z' });
    expect(all.structuredContent.bucket).toBe('week');
    expect(all.structuredContent.total_executions).toBe(36);
    const weeks = all.structuredContent.series as Array<{ start: string; total: number }>;
    expect(weeks.reduce((sum, b) => sum + b.total, 0)).toBe(36);
    // Weeks start on Monday (UTC), one bucket per week, none missing.
    expect(weeks.every((b) => new Date(b.start).getUTCDay() === 1)).toBe(true);
    expect(weeks[0]!.start).toBe('2023-11-27T00:00:00.000Z');
    expect(weeks.find((b) => b.start === '2024-01-29T00:00:00.000Z')!.total).toBe(1);
    expect(weeks.length).toBe(156);
    const months = await call(client, 'usage_summary', { from: '2023-01-01', to: '2026-11-01', bucket: 'month' });
    const series = months.structuredContent.series as Array<{ start: string; total: number; failed: number }>;
    expect(series).toHaveLength(46);
    expect(series.filter((b) => b.total === 1)).toHaveLength(35);
    expect(series.find((b) => b.start === '2024-06-01T00:00:00.000Z')).toMatchObject({ total: 1, failed: 1 });
    expect(text(months)).toContain('2024-06-01T00:00:00.000Z');
    const tooFine = await call(client, 'usage_summary', { window: 'all', bucket: 'hour' });
    expect(tooFine.isError).toBe(true);
    expect(text(tooFine)).toMatch(/bucket "hour" would cut this range into more than 1200 points; use week/);
    // The previous window of "all" lies before every execution: no percentage, only the caveat.
    expect(all.structuredContent.change.percent).toBeNull();
    expect(all.structuredContent.change.caveat).toMatch(/before the oldest/);
    for (const tool of ['tool_usage', 'who_drove_spike', 'cost_by_user', 'cost_by_tool', 'failure_report', 'list_executions', 'fleet_catalog', 'unused_tools', 'audit_log']) {
      const answer = await call(client, tool, { window: 'all' });
      expect(answer.isError, `${tool}: ${text(answer)}`).toBeFalsy();
    }
    expect((await call(client, 'failure_report', { window: 'all' })).structuredContent.total_failures).toBe(6);
    expect((await call(client, 'list_executions', { window: 'all', limit: 100 })).structuredContent.total_matching).toBe(36);
  });

  it('serve --tz: the server default zone for calendar windows, a call\'s tz still wins', async () => {
    const store = await fixtureStore();
    const berlin = await connect(store, undefined, { tz: 'Europe/Berlin' });
    const asked = await call(berlin, 'usage_summary', { window: 'yesterday' });
    // The fixture's now is 2026-11-01T00:00Z, 01:00 on Nov 1 in Berlin: yesterday is Oct 31 there.
    expect(asked.structuredContent.window).toEqual({ from: '2026-10-30T23:00:00.000Z', to: '2026-10-31T23:00:00.000Z' });
    const utc = await call(berlin, 'usage_summary', { window: 'yesterday', tz: 'UTC' });
    expect(utc.structuredContent.window).toEqual({ from: '2026-10-31T00:00:00.000Z', to: '2026-11-01T00:00:00.000Z' });
  });
});
