import { describe, expect, it } from 'vitest';
import { backtestRule } from '../../src/alerts/backtest.js';
import { parseRule } from '../../src/alerts/rules.js';
import { alertSignal, seriesBefore, sampleExecutions, type AlertSignalQueries, type Signal } from '../../src/analytics/alert-signals.js';
import { clickhouseAlertSignalQueries } from '../../src/analytics/clickhouse/alert-signals.js';
import { duckdbAlertSignalQueries } from '../../src/analytics/duckdb/alert-signals.js';
import { HISTORY_FROM, INCIDENT_NOW } from '../fixtures/incident-fleet.js';
import { loadBoth, loadIncidents, sampleText } from './helpers.js';
import { SAMPLE_ANCHOR } from '../../src/sample/fleet.js';

/** A signal as comparable data: groups in order, each with its points. */
const plain = (signal: Signal) => [...signal].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** The incident history in both engines, as signal queries. */
async function incidentsInBoth(): Promise<{ duck: AlertSignalQueries; house: AlertSignalQueries }> {
  const { store, ch } = await loadIncidents();
  return { duck: duckdbAlertSignalQueries((task) => store.read(task)), house: clickhouseAlertSignalQueries(ch.ch) };
}

// Every kind but export_lag (its sinks are the running serve's), with the variants that change the queries.
const RULES = [
  { name: 'jira-errors', kind: 'error_rate', group_by: 'tool', window: '15m', threshold: 0.2, min_executions: 10, for: '5m' },
  { name: 'errors-by-team', kind: 'error_rate', group_by: 'team', window: '1h', threshold: 0.05, min_executions: 3 },
  { name: 'errors-staging', kind: 'error_rate', window: '30m', threshold: 0.1, filters: { environment: 'staging' } },
  { name: 'failures-any', kind: 'failures', window: '1h', threshold: 5, group_by: 'user' },
  { name: 'failures-typed', kind: 'failures', window: '1h', threshold: 1, error_type: 'upstream_5xx', error_layer: 'connector' },
  { name: 'slow', kind: 'latency_p95', window: '30m', threshold_ms: 900, min_executions: 5, group_by: 'server' },
  { name: 'slow-tools', kind: 'latency_p95', window: '15m', threshold_ms: 500, min_executions: 3 },
  { name: 'fleet-spike', kind: 'volume_spike', factor: 3, min_count: 50 },
  { name: 'failure-spike', kind: 'volume_spike', measure: 'failures', factor: 2, min_count: 5 },
  { name: 'task-spike', kind: 'volume_spike', measure: 'tasks', factor: 2, min_count: 20, filters: { via_mcp: true } },
  { name: 'team-daily-tasks', kind: 'budget', measure: 'tasks', period: 'day', limit: 500, group_by: 'team', warn_projected: false },
  { name: 'user-weekly-cost', kind: 'budget', measure: 'cost_usd', period: 'week', limit: 0.5, group_by: 'user' },
  { name: 'feed-quiet', kind: 'feed_silence', silent_for: '30m', group_by: 'environment' },
  { name: 'source-quiet', kind: 'feed_silence', silent_for: '2h', group_by: 'source' },
  { name: 'idle-tools', kind: 'unused_tool', days: 7 },
  { name: 'idle-docs', kind: 'unused_tool', days: 3, filters: { server: 'docs-gateway' } },
  { name: 'unmask-burst', kind: 'unmask_activity', actions: ['unmask'], window: '1h', threshold: 5 },
  { name: 'docs-tools-changed', kind: 'tool_definition_changed', window: '1h' },
  { name: 'any-tools-changed', kind: 'tool_definition_changed', window: '1d', filters: { server: 'docs-gateway' } },
];

describe('alert signals: DuckDB and ClickHouse watch the same things', () => {
  it('every kind of rule: the same signal over the incident history, and at a single tick', async () => {
    const { duck, house } = await incidentsInBoth();
    const range = { from: new Date(HISTORY_FROM), to: new Date(INCIDENT_NOW) };
    let episodes = 0;
    for (const input of RULES) {
      const rule = parseRule(input);
      const [d, h] = await Promise.all([alertSignal(duck, rule, range), alertSignal(house, rule, range)]);
      expect(plain(h), `signal of ${rule.name}`).toEqual(plain(d));
      // A backtest walks the signal through the same code on both engines: equal signals, equal backtests.
      episodes += (await backtestRule(duck, rule, range)).episodes.length;
      // One tick, as live evaluation asks.
      const tick = { from: new Date('2026-11-14T10:06:00Z'), to: new Date('2026-11-14T10:06:00Z') };
      expect(plain(await alertSignal(house, rule, tick)), `tick of ${rule.name}`).toEqual(plain(await alertSignal(duck, rule, tick)));
    }
    // The comparisons were of alerts that fire: every planted incident and more.
    expect(episodes).toBeGreaterThanOrEqual(8);
    // export_lag reads the sinks the serve instances registered (export.test.ts): without a serve's export store, said, not a silent "never fires".
    await expect(alertSignal(house, parseRule({ name: 'lag', kind: 'export_lag' }), range)).rejects.toThrow(/^export_lag watches the sinks the serve instances register: ask a serve/);
  });

  it('over the sample fleet (costs, teams, clients, repeats and replaced records): budgets of both measures and periods, rates, latency and the spike', async () => {
    const pair = await loadBoth(sampleText(), SAMPLE_ANCHOR);
    const range = { from: new Date(Date.parse(SAMPLE_ANCHOR) - 30 * 86_400_000), to: new Date(SAMPLE_ANCHOR) };
    const rules = [
      { name: 'cost-day', kind: 'budget', measure: 'cost_usd', period: 'day', limit: 2, group_by: 'user' },
      { name: 'cost-week', kind: 'budget', measure: 'cost_usd', period: 'week', limit: 5, group_by: 'team' },
      { name: 'tasks-month', kind: 'budget', measure: 'tasks', period: 'month', limit: 300, group_by: 'tool', filters: { via_mcp: true } },
      { name: 'rate', kind: 'error_rate', window: '1h', threshold: 0.1, min_executions: 5, group_by: 'tool' },
      { name: 'rate-cursor', kind: 'error_rate', window: '6h', threshold: 0.05, min_executions: 3, filters: { client: 'cursor' } },
      { name: 'failures', kind: 'failures', window: '1h', threshold: 2, group_by: 'team' },
      { name: 'latency', kind: 'latency_p95', window: '1h', threshold_ms: 2000, min_executions: 3, group_by: 'tool' },
      { name: 'spike', kind: 'volume_spike', factor: 2, min_count: 10 },
      { name: 'quiet-clients', kind: 'feed_silence', silent_for: '6h', group_by: 'client' },
      { name: 'idle', kind: 'unused_tool', days: 2 },
    ];
    let points = 0;
    for (const input of rules) {
      const rule = parseRule(input);
      const [d, h] = await Promise.all([alertSignal(pair.duck.alertSignals, rule, range), alertSignal(pair.house.alertSignals, rule, range)]);
      expect(plain(h), `signal of ${rule.name}`).toEqual(plain(d));
      points += [...d.values()].reduce((n, list) => n + list.filter((p) => p.active).length, 0);
    }
    expect(points).toBeGreaterThan(50);
  });

  it('what an alert explains itself with: the series before it and the executions behind it', async () => {
    const { duck, house } = await incidentsInBoth();
    for (const filters of [{}, { tool: 'jira_create_issue' }, { environment: 'staging' }]) {
      for (const bucketMs of [60_000, 300_000]) {
        const args = { filters, to: new Date('2026-11-10T14:30:00Z'), bucketMs, buckets: 12 };
        expect(await seriesBefore(house, args)).toEqual(await seriesBefore(duck, args));
      }
      for (const pick of ['failed', 'slowest', 'latest'] as const) {
        const args = { filters, from: new Date('2026-11-10T13:00:00Z'), to: new Date('2026-11-10T15:00:00Z'), pick, limit: 5 };
        expect(await sampleExecutions(house, args), `${pick} ${JSON.stringify(filters)}`).toEqual(await sampleExecutions(duck, args));
      }
    }
    expect((await seriesBefore(house, { filters: {}, to: new Date('2026-11-10T14:30:00Z'), bucketMs: 300_000, buckets: 12 })).some((b) => b.failed > 0)).toBe(true);
  });
});
