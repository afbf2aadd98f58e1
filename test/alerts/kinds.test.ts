import { alertSignalQueriesOn } from '../../src/analytics/duckdb/alert-signals.js';
import { describe, expect, it } from 'vitest';
import { backtestRule } from '../../src/alerts/backtest.js';
import { parseRule } from '../../src/alerts/rules.js';
import { alertSignal } from '../../src/analytics/alert-signals.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { blockFromRecords } from '../../src/ingest/lines.js';
import { importCatalog } from '../../src/store/catalog.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore } from '../helpers.js';

const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
type Json = Record<string, unknown>;

function exec(id: string, at: number, extra: Json = {}): Json {
  return {
    execution_id: id,
    started_at: iso(at),
    ended_at: iso(at + 500),
    status: 'succeeded',
    tool: { name: 'search_docs', kind: 'connector', server: 'docs-gateway' },
    user: { id: 'u_ana', team: 'revops' },
    ...extra,
  };
}

async function storeWith(records: Json[], now: string): Promise<Store> {
  const store = await openTestStore(now);
  await ingestLines(store, blockFromRecords(records), 'test');
  return store;
}

const episodes = async (store: Store, rule: Record<string, unknown>, from: string, to: string) =>
  (await store.read((db) => backtestRule(alertSignalQueriesOn(db), parseRule(rule), { from: new Date(from), to: new Date(to) }))).episodes.map((e) => ({
    group: e.group, fired_at: e.fired_at, resolved_at: e.resolved_at, value_at_fire: e.value_at_fire,
  }));

describe('alert kinds the planted fleet does not cover', () => {
  it('latency_p95: the p95 over the window, per tool, with the minimum volume', async () => {
    const start = Date.parse('2026-11-10T10:00:00Z');
    // 30 calls a minute apart; from 10:10 to 10:19 each takes 9 s instead of 0.5 s.
    const records = Array.from({ length: 30 }, (_, i) => exec(`l${i}`, start + i * MIN + 1000, i >= 10 && i < 20 ? { ended_at: iso(start + i * MIN + 10_000) } : {}));
    const store = await storeWith(records, '2026-11-10T12:00:00Z');
    // 15-minute window, at least 10 calls: at 10:11 the window [09:56, 10:11) holds 11 calls, one slow (p95 of 11 = 4,750 ms interpolated);
    // at 10:12, two slow of 12: p95 = 9,000 ms.
    const got = await episodes(store, { name: 'slow', kind: 'latency_p95', window: '15m', threshold_ms: 5000, min_executions: 10 }, '2026-11-10T10:00:00Z', '2026-11-10T11:00:00Z');
    expect(got).toEqual([{ group: 'search_docs', fired_at: '2026-11-10T10:12:00.000Z', resolved_at: expect.any(String), value_at_fire: 9000 }]);
    // It resolves once fewer than 5% of the window is slow: the last slow call (10:19) leaves at 10:35.
    expect(Date.parse(got[0]!.resolved_at!)).toBeLessThanOrEqual(Date.parse('2026-11-10T10:35:00Z'));
    // Fewer calls than the minimum: no alert, however slow.
    expect(await episodes(store, { name: 'slow', kind: 'latency_p95', window: '15m', threshold_ms: 5000, min_executions: 16 }, '2026-11-10T10:00:00Z', '2026-11-10T11:00:00Z')).toEqual([]);
  });

  it('budget: the projected overrun warns first, the overrun itself follows, each once per period', async () => {
    // 2026-11 (30 days). From 11-10 on, team platform spends 40 tasks an hour: 960 a day.
    const records: Json[] = [];
    for (let h = 0; h < 24 * 10; h++) {
      records.push(exec(`b${h}`, Date.parse('2026-11-10T00:00:00Z') + h * 3_600_000 + 5 * MIN, { tasks: 40, user: { id: 'u_bot', team: 'platform' } }));
    }
    const store = await storeWith(records, '2026-11-20T00:00:00Z');
    const rule = { name: 'monthly', kind: 'budget', measure: 'tasks', period: 'month', limit: 9000, group_by: 'team' };
    const got = await episodes(store, rule, '2026-11-01T00:00:00Z', '2026-11-20T00:00:00Z');
    // A tenth of the month has passed on 11-04 00:00; the first spend (11-10 00:05, seen 00:06)
    // projects 40 x 30 days / 9.0 days = 133: under. The pace projects past 9,000 when
    // spent x 30d / elapsed > 9000; at 960 a day from day 9 that is spent > 300 x elapsed_days.
    const projected = got.filter((e) => e.group.endsWith('projected'));
    const exceeded = got.filter((e) => e.group.endsWith('exceeded'));
    expect(projected).toHaveLength(1);
    expect(exceeded).toHaveLength(1);
    expect(projected[0]!.group).toBe('team=platform, month of 2026-11-01, projected');
    expect(projected[0]!.fired_at < exceeded[0]!.fired_at).toBe(true);
    // The projection gives way when the overrun itself fires.
    expect(projected[0]!.resolved_at).toBe(exceeded[0]!.fired_at);
    // 9,000 passed with the 226th hour's spend (9,040): 11-19 09:05, seen 09:06.
    expect(exceeded[0]).toMatchObject({ fired_at: '2026-11-19T09:06:00.000Z', resolved_at: null, value_at_fire: 9040 });
  });

  it('unused_tool: one digest of the catalog tools idle for the window, as unused_tools counts them', async () => {
    const day = 86_400_000;
    const start = Date.parse('2026-10-01T00:00:00Z');
    // search_docs every day; old_tool until 10-05; the catalog lists never_tool, never called.
    const records = [
      ...Array.from({ length: 40 }, (_, d) => exec(`s${d}`, start + d * day + 3_600_000)),
      ...Array.from({ length: 5 }, (_, d) => exec(`o${d}`, start + d * day + 7_200_000, { tool: { name: 'old_tool', kind: 'connector', server: 'docs-gateway' } })),
    ];
    const store = await storeWith(records, '2026-11-10T00:00:00Z');
    await store.write((db) => importCatalog(db, [{ name: 'never_tool', server: 'docs-gateway', kind: 'connector' }]));
    const signal = await store.read((db) => alertSignal(alertSignalQueriesOn(db), parseRule({ name: 'idle', kind: 'unused_tool', days: 30 }), { from: new Date('2026-11-09T00:00:00Z'), to: new Date('2026-11-09T00:00:00Z') }));
    const now = signal.get('')!.at(-1)!;
    expect(now.active).toBe(true);
    expect(now.detail!.tools).toEqual(['never_tool (docs-gateway)', 'old_tool (docs-gateway)']);
    // old_tool's last use was in the hour of 10-05 02:00: idle for 30 days from 11-04 02:00.
    const got = await episodes(store, { name: 'idle', kind: 'unused_tool', days: 30 }, '2026-11-01T00:00:00Z', '2026-11-10T00:00:00Z');
    expect(got).toHaveLength(1);
    expect(got[0]!.value_at_fire).toBe(1);
  });

  it('failures of one error type only, and volume_spike on failures', async () => {
    const start = Date.parse('2026-11-10T10:00:00Z');
    const records: Json[] = [];
    // A week of history: 10 calls an hour.
    for (let h = -24 * 7; h < 24; h++) for (let k = 0; k < 10; k++) records.push(exec(`h${h}_${k}`, start + h * 3_600_000 + k * 6 * MIN));
    // 10:00-10:30: 60 timeouts and 60 rate limits.
    for (let i = 0; i < 60; i++) {
      records.push(exec(`t${i}`, start + i * 30_000 + 1000, { status: 'failed', error: { type: 'timeout', layer: 'connector' } }));
      records.push(exec(`r${i}`, start + i * 30_000 + 2000, { status: 'failed', error: { type: 'rate_limited', layer: 'tool' } }));
    }
    const store = await storeWith(records, '2026-11-11T10:00:00Z');
    const timeouts = await episodes(store, { name: 'timeouts', kind: 'failures', window: '15m', threshold: 25, error_type: 'timeout' }, '2026-11-10T09:00:00Z', '2026-11-10T12:00:00Z');
    // 26 timeouts (two a minute) are in the window at 10:13.
    expect(timeouts).toMatchObject([{ group: '', fired_at: '2026-11-10T10:13:00.000Z' }]);
    const layer = await episodes(store, { name: 'tool-layer', kind: 'failures', window: '15m', threshold: 25, error_layer: 'llm' }, '2026-11-10T09:00:00Z', '2026-11-10T12:00:00Z');
    expect(layer).toEqual([]);
    const spike = await episodes(store, { name: 'fail-spike', kind: 'volume_spike', measure: 'failures', factor: 3, min_count: 50 }, '2026-11-10T09:00:00Z', '2026-11-10T12:00:00Z');
    expect(spike).toHaveLength(1);
    expect(spike[0]!.fired_at > '2026-11-10T10:00:00.000Z' && spike[0]!.fired_at < '2026-11-10T10:31:00.000Z').toBe(true);
  });
});
