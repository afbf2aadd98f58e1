import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.js';
import { parseChannel } from '../../src/alerts/channels.js';
import { fixedClock } from '../../src/clock.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { blockFromRecords } from '../../src/ingest/lines.js';
import { notificationRows } from '../../src/store/alerts.js';
import { allAuditEvents } from '../../src/store/audit-events.js';
import type { Store } from '../../src/store/store.js';
import { INCIDENT_NOW, incidentFleet, toolLists } from '../fixtures/incident-fleet.js';
import { openTestStore } from '../helpers.js';
import { auditFor, call, connect, text } from '../mcp/harness.js';

const ROOT = { id: 'u_root', role: 'admin' } as const;
const BEN = { id: 'u_ben', role: 'member' } as const;
const CHANNELS = new Map([['oncall', parseChannel('oncall', { type: 'webhook', url: 'http://127.0.0.1:9/hook' })]]);

async function incidentStore(now = INCIDENT_NOW): Promise<Store> {
  const store = await openTestStore(now);
  await ingestLines(store, blockFromRecords([...toolLists(), ...incidentFleet()]), 'fleet');
  return store;
}

const JIRA_RULE = { name: 'jira-errors', kind: 'error_rate', group_by: 'tool', window: '15m', threshold: 0.2, min_executions: 10, for: '5m', channels: ['oncall'], filters: { server: 'eng-gateway' } };

describe('alert tools over the SDK client', () => {
  it('an admin backtests a draft, creates it (audited), and list_alerts explains the firing alert in its text', async () => {
    const store = await incidentStore('2026-11-10T14:30:00Z');
    const admin = await connect(store, ROOT, { alertChannels: CHANNELS });

    const draft = await call(admin, 'backtest_alert_rule', { rule: JIRA_RULE, window: '10d' });
    expect(draft.isError).toBeFalsy();
    expect(draft.structuredContent).toMatchObject({ firings: 1, notifications: 1, channels: ['oncall'], by_group: [{ group: 'jira_create_issue', firings: 1 }] });
    expect(text(draft)).toContain('would have fired 1 time(s) (1 for jira_create_issue)');
    expect(text(draft)).toContain('jira_create_issue: fired 2026-11-10T14:14:00.000Z');

    const created = await call(admin, 'create_alert_rule', { rule: JIRA_RULE });
    expect(created.isError, text(created)).toBeFalsy();
    expect(created.structuredContent.rule).toMatchObject({ name: 'jira-errors', severity: 'error', repeat_interval: '4h' });
    const audit = await store.read((db) => allAuditEvents(db));
    expect(audit.map((e) => [e.action, e.actor, e.target])).toContainEqual(['alert_rule_create', 'u_root', 'jira-errors']);

    await new AlertEngine(store, { clock: store.clock, catchUpMs: 3_600_000 }).evaluate({ at: new Date('2026-11-10T13:30:00Z') });
    await new AlertEngine(store, { clock: store.clock, catchUpMs: 3_600_000 }).evaluate({ at: new Date('2026-11-10T14:30:00Z') });
    const alerts = await call(admin, 'list_alerts', {});
    expect(alerts.structuredContent.alerts).toMatchObject([{ rule: 'jira-errors', group: 'jira_create_issue', status: 'firing', fired_at: '2026-11-10T14:14:00.000Z' }]);
    const said = text(alerts);
    // What the next call needs is in the text: who, which ids, which tool next.
    expect(said).toContain('1 firing, 0 pending');
    expect(said).toContain('top user u_ben');
    expect(said).toMatch(/samples ex_\d+/);
    expect(said).toContain('Next: failure_report (window 24h, server="eng-gateway", tool="jira_create_issue")');

    // A member sees the rules and the alerts, but cannot change them.
    const member = await connect(store, BEN, { alertChannels: CHANNELS });
    expect(text(await call(member, 'alert_rules', {}))).toContain('jira-errors: error rate above 20% over 15m');
    const denied = await call(member, 'update_alert_rule', { name: 'jira-errors', changes: { threshold: 0.5 } });
    expect(denied.isError).toBe(true);
    expect(text(denied)).toContain('Only admins can change alert rules');
  });

  it('update, silence and delete are audited; a silenced alert notifies no one, and the rule stays evaluated', async () => {
    const store = await incidentStore('2026-11-10T15:00:00Z');
    const admin = await connect(store, ROOT, { alertChannels: CHANNELS });
    expect((await call(admin, 'create_alert_rule', { rule: JIRA_RULE })).isError).toBeFalsy();
    const updated = await call(admin, 'update_alert_rule', { name: 'jira-errors', changes: { threshold: 0.3, for: '0m' } });
    expect(updated.structuredContent.changed).toEqual(['threshold', 'for']);
    const silenced = await call(admin, 'silence_alert', { rule: 'jira-errors', reason: 'CHG-311 planned load test', duration: '2h' });
    expect(silenced.structuredContent.ends_at).toBe('2026-11-10T17:00:00.000Z');
    const engine = new AlertEngine(store, { clock: store.clock, catchUpMs: 3_600_000 });
    await engine.evaluate({ at: new Date('2026-11-10T14:00:00Z') });
    await engine.evaluate({ at: new Date('2026-11-10T15:00:00Z') });
    const alerts = await call(admin, 'list_alerts', { status: 'all', window: '24h' });
    expect(alerts.structuredContent.recent_events.map((e: { event: string; silenced: boolean }) => [e.event, e.silenced])).toEqual([['resolved', true], ['firing', true]]);
    expect(await store.read((db) => notificationRows(db, { limit: 10 }))).toEqual([]);
    expect(text(alerts)).toContain('silenced until 2026-11-10T17:00:00.000Z');

    expect((await call(admin, 'delete_alert_rule', { name: 'jira-errors', reason: 'replaced' })).isError).toBeFalsy();
    expect(text(await call(admin, 'alert_rules', {}))).toContain('No alert rules yet');
    const actions = (await store.read((db) => allAuditEvents(db))).map((e) => e.action);
    expect(actions).toEqual(['alert_rule_create', 'alert_rule_update', 'alert_silence', 'alert_rule_delete']);
  });

  it('bad rules are refused with what to fix, and nothing is stored or audited', async () => {
    const store = await incidentStore();
    const admin = await connect(store, ROOT, { alertChannels: CHANNELS });
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: 'r1', kind: 'error_ratio' }, /unknown kind "error_ratio"; kind is one of error_rate, failures, volume_spike/],
      [{ name: 'r2', kind: 'error_rate', threshold: 'high' }, /threshold: Expected number, received string/],
      [{ name: 'r3', kind: 'error_rate', threshold: 20 }, /threshold: Number must be less than 1/],
      [{ name: 'r4', kind: 'failures', filters: { tool: 'jira_create_isue' } }, /no tool is named "jira_create_isue" \(closest: jira_create_issue/],
      [{ name: 'r5', kind: 'failures', filters: { colour: 'red' } }, /filters: unknown field\(s\) colour/],
      [{ name: 'r6', kind: 'failures', channels: ['pager'] }, /names channel\(s\) pager, which are not configured; configured: oncall/],
      [{ name: 'r7', kind: 'failures', window: 'soon' }, /window: a duration like 30m/],
      [{ name: 'r8', kind: 'latency_p95' }, /threshold_ms: Required/],
      [{ name: 'bad name!', kind: 'failures' }, /name: a name of letters/],
    ];
    for (const [rule, message] of cases) {
      const result = await call(admin, 'create_alert_rule', { rule });
      expect(result.isError, JSON.stringify(rule)).toBe(true);
      expect(text(result), JSON.stringify(rule)).toMatch(message);
    }
    expect(text(await call(admin, 'alert_rules', {}))).toContain('No alert rules yet');
    expect(await store.read((db) => allAuditEvents(db))).toEqual([]);
    // A draft is checked the same way.
    expect(text(await call(admin, 'backtest_alert_rule', { rule: { kind: 'budget' } }))).toMatch(/limit: Required/);
    expect(text(await call(admin, 'backtest_alert_rule', {}))).toMatch(/give either name .* or rule/);
  });

  it('security alerts (unmask activity) are listed to admins only', async () => {
    const store = await incidentStore();
    await auditFor(store).record(ROOT, { action: 'unmask', target: 'ex_1', reason: 'INC-9 checking a payload' });
    const admin = await connect(store, ROOT);
    expect((await call(admin, 'create_alert_rule', { rule: { name: 'any-unmask', kind: 'unmask_activity', window: '1h' } })).isError).toBeFalsy();
    // The audit events carry the wall clock: evaluate at the wall clock's minute.
    await new AlertEngine(store, { clock: fixedClock(new Date(Date.now() + 60_000)) }).evaluate();
    const seen = await call(admin, 'list_alerts', { window: 'all' });
    expect(seen.structuredContent.alerts.map((a: { rule: string; group: string }) => [a.rule, a.group])).toEqual([['any-unmask', 'u_root']]);
    const member = await connect(store, BEN);
    expect((await call(member, 'list_alerts', { window: 'all' })).structuredContent.alerts).toEqual([]);
  });
});

describe('alerting, what leaves the server', () => {
  it('a channel URL or secret is never echoed; a secret in a group name is redacted in the notification and in list_alerts', async () => {
    const store = await openTestStore('2026-11-10T15:00:00Z');
    // A user id that is an AWS access key: what a misconfigured gateway might log.
    const leaked = 'AKIAIOSFODNN7EXAMPLE';
    const records = Array.from({ length: 12 }, (_, i) => ({
      execution_id: `leak_${i}`, started_at: new Date(Date.parse('2026-11-10T14:50:00Z') + i * 30_000).toISOString(),
      status: 'failed', error: { type: 'http_500', layer: 'connector' },
      tool: { name: 'jira_create_issue', kind: 'connector', server: 'eng-gateway' }, user: { id: leaked, team: 'eng' },
    }));
    await ingestLines(store, blockFromRecords(records), 'test');
    const channels = new Map([['hooks', parseChannel('hooks', { type: 'webhook', url: 'https://hooks.example.com/T0/s3cr3t-path', secret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=' })]]);
    const admin = await connect(store, ROOT, { alertChannels: channels });
    const created = await call(admin, 'create_alert_rule', { rule: { name: 'per-user', kind: 'failures', threshold: 5, group_by: 'user', channels: ['hooks'] } });
    expect(created.isError, text(created)).toBeFalsy();
    const rules = await call(admin, 'alert_rules', {});
    expect(JSON.stringify(rules)).not.toContain('s3cr3t');
    expect(JSON.stringify(rules)).not.toContain('c2VjcmV0');
    expect(rules.structuredContent.channels).toEqual([{ name: 'hooks', type: 'webhook' }]);

    await new AlertEngine(store, { clock: store.clock }).evaluate();
    const queued = await store.read((db) => notificationRows(db, { limit: 5 }));
    expect(queued).toHaveLength(1);
    expect(queued[0]!.message).not.toContain(leaked);
    expect(queued[0]!.message).toContain('[REDACTED:aws_access_key]');
    const alerts = await call(admin, 'list_alerts', {});
    expect(JSON.stringify(alerts)).not.toContain(leaked);
  });

  it('an ingest batch triggers the cheap rules at once, without waiting for the minute', async () => {
    const store = await openTestStore('2026-11-10T15:00:00Z');
    const admin = await connect(store, ROOT);
    await ingestLines(store, blockFromRecords([{ execution_id: 'seed', started_at: '2026-11-10T14:00:00Z', status: 'succeeded', tool: { name: 'jira_create_issue', kind: 'connector' }, user: { id: 'u_ben' } }]), 'seed');
    expect((await call(admin, 'create_alert_rule', { rule: { name: 'any-failures', kind: 'failures', threshold: 2 } })).isError).toBeFalsy();
    const engine = new AlertEngine(store, { clock: store.clock });
    // The schedule's next cycle is an hour away: only the ingest can make this one.
    engine.start(3_600_000);
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect((await call(admin, 'list_alerts', {})).structuredContent.alerts).toEqual([]);
      const failures = Array.from({ length: 3 }, (_, i) => ({
        execution_id: `f${i}`, started_at: `2026-11-10T14:5${i}:00Z`, status: 'failed', tool: { name: 'jira_create_issue', kind: 'connector' }, user: { id: 'u_ben' },
      }));
      await ingestLines(store, blockFromRecords(failures), 'http');
      const deadline = Date.now() + 10_000;
      let alerts: unknown[] = [];
      while (alerts.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        alerts = (await call(admin, 'list_alerts', {})).structuredContent.alerts;
      }
      expect(alerts).toMatchObject([{ rule: 'any-failures', status: 'firing', value: 3 }]);
    } finally {
      await engine.stop();
    }
  });

  it('the tune_alerts prompt walks through backtesting on 30 days before enabling', async () => {
    const store = await openTestStore();
    const client = await connect(store, ROOT);
    const prompt = await client.getPrompt({ name: 'tune_alerts', arguments: { rule: 'jira-errors' } });
    const said = prompt.messages.map((m) => (m.content.type === 'text' ? m.content.text : '')).join('\n');
    expect(said).toContain('alert_rules with name jira-errors');
    expect(said).toContain('backtest_alert_rule (window 30d) with name jira-errors');
    expect(said).toContain('update_alert_rule');
  });
});
