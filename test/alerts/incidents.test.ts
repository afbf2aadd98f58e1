import { alertSignalQueriesOn } from '../../src/analytics/duckdb/alert-signals.js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/access/audit.js';
import { backtestRule } from '../../src/alerts/backtest.js';
import { AlertEngine } from '../../src/alerts/engine.js';
import { parseRule, type AlertRule } from '../../src/alerts/rules.js';
import { fixedClock } from '../../src/clock.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { blockFromRecords } from '../../src/ingest/lines.js';
import { historyRows, putRule } from '../../src/store/alerts.js';
import { Store } from '../../src/store/store.js';
import { HISTORY_FROM, INCIDENT_NOW, incidentFleet, toolLists, UNMASKS } from '../fixtures/incident-fleet.js';
import { tempDir } from '../helpers.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

/** The rules a team would write for the planted incidents, and when each must fire and resolve. */
const PLANTED: Array<{ rule: Record<string, unknown>; fired: string; resolved: string; group: string }> = [
  {
    rule: { name: 'jira-errors', kind: 'error_rate', group_by: 'tool', window: '15m', threshold: 0.2, min_executions: 10, for: '5m' },
    // 10 executions (6 failed) in the window at 14:09; held for 5 minutes.
    fired: '2026-11-10T14:14:00.000Z',
    // At 14:47 the window [14:32, 14:47) holds 9 executions, under the minimum of 10.
    resolved: '2026-11-10T14:47:00.000Z',
    group: 'jira_create_issue',
  },
  {
    rule: { name: 'fleet-spike', kind: 'volume_spike', factor: 3, min_count: 50 },
    fired: '2026-11-12T09:12:00.000Z',
    resolved: '2026-11-12T10:49:00.000Z',
    group: '',
  },
  {
    rule: { name: 'team-daily-tasks', kind: 'budget', measure: 'tasks', period: 'day', limit: 500, group_by: 'team', warn_projected: false },
    // The 13th run (520 tasks) started 15:12:10: seen at 15:13; the day ends at midnight.
    fired: '2026-11-13T15:13:00.000Z',
    resolved: '2026-11-14T00:00:00.000Z',
    group: 'team=platform, day of 2026-11-13, exceeded',
  },
  {
    rule: { name: 'feed-quiet', kind: 'feed_silence', silent_for: '30m', group_by: 'environment' },
    // The last check before the gap started 02:50:30 (seen 02:51); the next 05:00:30 (seen 05:01).
    fired: '2026-11-14T03:21:00.000Z',
    resolved: '2026-11-14T05:01:00.000Z',
    group: 'staging',
  },
  {
    rule: { name: 'unmask-burst', kind: 'unmask_activity', actions: ['unmask'], window: '1h', threshold: 5 },
    fired: '2026-11-14T10:06:00.000Z',
    resolved: '2026-11-14T11:01:00.000Z',
    group: 'u_root',
  },
  {
    rule: { name: 'docs-tools-changed', kind: 'tool_definition_changed', window: '1h' },
    fired: '2026-11-14T12:01:00.000Z',
    resolved: '2026-11-14T13:01:00.000Z',
    group: 'docs-gateway',
  },
];

let store: Store;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'blackbox-alerts-'));
  store = await Store.open({ path: join(dir, 'alerts.duckdb'), clock: fixedClock(new Date(INCIDENT_NOW)) });
  await ingestLines(store, blockFromRecords([...toolLists(), ...incidentFleet()]), 'fleet');
  for (const at of UNMASKS) {
    await new AuditLog(store, { clock: fixedClock(new Date(at)) }).record({ id: 'u_root', role: 'admin' }, { action: 'unmask', target: 'ex_1', reason: 'INC-1 checking the payload' });
  }
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const rules = (): AlertRule[] => PLANTED.map((p) => parseRule(p.rule));

describe('alert rules on a fleet with planted incidents', () => {
  it('backtest: each rule fires once, at the right time, for the right group, and resolves when its condition ends', async () => {
    for (const [i, rule] of rules().entries()) {
      const report = await store.read((db) => backtestRule(alertSignalQueriesOn(db), rule, { from: new Date(HISTORY_FROM), to: new Date(INCIDENT_NOW) }));
      expect(report.episodes.map((e) => ({ group: e.group, fired_at: e.fired_at, resolved_at: e.resolved_at })), rule.name).toEqual([
        { group: PLANTED[i]!.group, fired_at: PLANTED[i]!.fired, resolved_at: PLANTED[i]!.resolved },
      ]);
      expect(report.firings, rule.name).toBe(1);
      expect(report.resolutions, rule.name).toBe(1);
    }
  });

  it('nothing fires in the quiet control period (11-01 .. 11-09), though it has failures and an unmask', async () => {
    for (const rule of rules()) {
      const report = await store.read((db) => backtestRule(alertSignalQueriesOn(db), rule, { from: new Date(HISTORY_FROM), to: new Date('2026-11-10T00:00:00Z') }));
      expect(report.episodes, rule.name).toEqual([]);
    }
    // The control period is not empty: the rules had something to look at and stayed quiet.
    const control = await store.read((db) => db.one<{ failed: number; unmasks: number }>(
      `SELECT (SELECT count(*) FROM executions WHERE status = 'failed' AND started_at < '2026-11-10')::INTEGER AS failed,
              (SELECT count(*) FROM audit_events WHERE occurred_at < '2026-11-10')::INTEGER AS unmasks`,
    ));
    expect(control!.failed).toBeGreaterThan(50);
    expect(control!.unmasks).toBe(1);
  });

  it('live evaluation, minute by minute on the data clock, fires and resolves at the same ticks as the backtest, with who drove it', async () => {
    for (const rule of rules()) await store.write((db) => putRule(db, { name: rule.name, kind: rule.kind, rule: JSON.stringify(rule), origin: 'file', by: 'test', at: new Date(INCIDENT_NOW) }));
    const engine = new AlertEngine(store, { clock: fixedClock(new Date(INCIDENT_NOW)), catchUpMs: 6 * 3_600_000 });
    // Cycles six hours apart: each evaluates every minute since the last one, as after a pause.
    const start = Date.parse('2026-11-10T00:00:00Z');
    for (let at = start; at <= Date.parse(INCIDENT_NOW); at += 6 * 3_600_000) {
      const results = await engine.evaluate({ at: new Date(at) });
      expect(results.filter((r) => r.error)).toEqual([]);
    }
    const history = await store.read((db) => historyRows(db, { from: new Date(start), to: new Date(INCIDENT_NOW), limit: 100 }));
    for (const [i, rule] of rules().entries()) {
      const planted = PLANTED[i]!;
      const events = history.filter((h) => h.rule === rule.name).sort((a, b) => a.at.localeCompare(b.at));
      expect(events.filter((e) => e.event !== 'repeat').map((e) => [e.event, e.group_key, e.at]), rule.name).toEqual([
        ['firing', planted.group, planted.fired],
        ['resolved', planted.group, planted.resolved],
      ]);
      // Reminders every repeat_interval (4h) while firing, as the backtest counts them.
      const backtest = await store.read((db) => backtestRule(alertSignalQueriesOn(db), rule, { from: new Date(start), to: new Date(INCIDENT_NOW) }));
      expect(events.filter((e) => e.event === 'repeat').map((e) => e.at), rule.name).toEqual(
        backtest.episodes.flatMap((e) => Array.from({ length: e.reminders }, (_, k) => new Date(Date.parse(e.fired_at) + (k + 1) * 4 * 3_600_000).toISOString())),
      );
    }
    expect(history.filter((h) => h.rule === 'team-daily-tasks' && h.event === 'repeat')).toHaveLength(2);
    const why = (name: string) => JSON.parse(history.find((h) => h.rule === name && h.event === 'firing')!.explanation!);
    const errors = why('jira-errors');
    expect(errors.top_contributors.users[0].key).toBe('u_ben');
    expect(errors.value).toBeGreaterThan(0.2);
    expect(errors.sample_execution_ids.length).toBeGreaterThan(0);
    const spike = why('fleet-spike');
    expect(spike.top_contributors.users[0].key).toBe('u_bot');
    expect(spike.top_contributors.clients[0].key).toBe('ops-agent');
    expect(spike.series.some((b: { executions: number }) => b.executions > 50)).toBe(true);
    const budget = why('team-daily-tasks');
    expect(budget.value).toBe(520);
    expect(budget.top_contributors.tools[0].key).toBe('weekly_revenue_report');
    expect(why('unmask-burst').detail.audit_seqs).toHaveLength(6);
    expect(why('docs-tools-changed').detail.changed_tools).toContain('search_docs');
    expect(why('feed-quiet').detail.last_execution_minute).toBe('2026-11-14T02:50:00.000Z');
  });
});
