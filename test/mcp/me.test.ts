import { describe, expect, it } from 'vitest';
import { ingestLines } from '../../src/ingest/batch.js';
import { blockFromText } from '../../src/ingest/lines.js';
import { lines, openTestStore, record } from '../helpers.js';
import { call, connect, fixtureStore, text } from './harness.js';

const ANA = { id: 'u_ana', role: 'member' } as const;

describe('agents diagnose themselves', () => {
  it('user "me" in every tool that filters by user is exactly the caller, and the answer says who that is', async () => {
    const store = await fixtureStore();
    const client = await connect(store, ANA);
    for (const [tool, args] of [
      ['usage_summary', {}], ['tool_usage', { by: 'tool' }], ['who_drove_spike', {}], ['cost_by_user', {}], ['cost_by_tool', {}],
      ['failure_report', {}], ['list_executions', { limit: 100 }],
    ] as const) {
      const asMe = await call(client, tool, { ...args, user: 'me' });
      const asId = await call(client, tool, { ...args, user: 'u_ana' });
      expect(asMe.isError, `${tool}: ${text(asMe)}`).toBeFalsy();
      expect(asMe.structuredContent, tool).toEqual(asId.structuredContent);
      expect(asMe.structuredContent.filters.user, tool).toBe('u_ana');
      expect(text(asMe), tool).toContain('("me" is u_ana.)');
    }
    const mine = await call(client, 'list_executions', { user: 'me', limit: 100 });
    expect(mine.structuredContent.executions.length).toBeGreaterThan(0);
    expect(new Set(mine.structuredContent.executions.map((e: any) => e.user_id))).toEqual(new Set(['u_ana']));
    // The anonymous local admin records nothing: "me" says how to name yourself instead of answering for nobody.
    const local = await connect(store);
    const anonymous = await call(local, 'list_executions', { user: 'me' });
    expect(anonymous.isError).toBe(true);
    expect(text(anonymous)).toMatch(/user "me" needs to know who you are: .* Start it with --as NAME/);
  });

  async function outageStore() {
    const store = await openTestStore('2026-11-01T12:00:00Z');
    const at = (minute: number) => new Date(Date.parse('2026-11-01T10:00:00Z') + minute * 60_000).toISOString();
    const jira = { name: 'jira_create_issue', kind: 'connector', server: 'eng-gateway' };
    const sf = { name: 'salesforce_query', kind: 'connector', server: 'sales-gateway' };
    const outage = (user: string, minute: number) =>
      record(`out_${user}_${minute}`, {
        started_at: at(minute), ended_at: at(minute + 1), status: 'failed', tool: jira, user: { id: user },
        error: { type: 'http_503', layer: 'connector', message: 'Jira is unavailable' },
        steps: [{ index: 0, name: 'Create issue', connector: 'jira', status: 'failed', auth: { mode: 'service', identity: 'svc_jira' }, error: { type: 'http_503', layer: 'connector' } }],
      });
    const records = [
      // Before the outage jira worked for everyone.
      ...['u_ben', 'u_cho'].map((u, i) => record(`ok_${u}`, { started_at: at(-60 + i), ended_at: at(-59 + i), tool: jira, user: { id: u } })),
      // From 10:05, jira fails for seven users, the caller among them.
      ...['u_ben', 'u_cho', 'u_dan', 'u_eve', 'u_fay', 'u_gus'].map((u, i) => outage(u, 5 + i * 5)),
      outage('u_ana', 40),
      // Salesforce works for three others; the caller's own credentials are refused.
      ...['u_ben', 'u_cho', 'u_dan'].map((u, i) => record(`sf_${u}`, { started_at: at(30 + i), ended_at: at(31 + i), tool: sf, user: { id: u } })),
      record('sf_ana_denied', {
        started_at: at(50), ended_at: at(50), status: 'failed', tool: sf, user: { id: 'u_ana' }, input: { soql: 'SELECT Id FROM Account' },
        error: { type: 'auth_failed', layer: 'auth', message: 'token expired for u_ana' },
      }),
    ];
    await ingestLines(store, blockFromText(lines(...records)), 'planted');
    return store;
  }

  it('my_failures: "everyone" for an outage, with its count and start; "only you" for the caller\'s own auth failure; the next calls with their arguments', async () => {
    const client = await connect(await outageStore(), ANA);
    const answer = await call(client, 'my_failures', {});
    expect(answer.isError, text(answer)).toBeFalsy();
    const [denied, outage] = answer.structuredContent.failures;
    expect(answer.structuredContent).toMatchObject({ user: 'u_ana', total_bad: 2 });

    expect(outage).toMatchObject({
      execution_id: 'out_u_ana_40', tool: 'jira_create_issue', verdict: 'everyone',
      failing_step: { index: 0, name: 'Create issue', connector: 'jira', auth_mode: 'service', auth_identity: 'svc_jira' },
      fleet: { failures: 7, users_affected: 7, first_failure_at: '2026-11-01T10:05:00.000Z', dominant_error_type: 'http_503', dominant_connector: 'jira', others_users_failed: 6 },
    });
    expect(outage.verdict_explained).toMatch(/^Everyone: jira_create_issue on eng-gateway is failing for 7 users since 2026-11-01T10:05:00.000Z \(mostly http_503 at jira\): 7 failures/);

    expect(denied).toMatchObject({
      execution_id: 'sf_ana_denied', verdict: 'only you', failing_step: null,
      error: { type: 'auth_failed', layer: 'auth', message: 'token expired for u_ana' },
      fleet: { others_failures: 0, others_users_succeeded: 3 },
    });
    expect(denied.verdict_explained).toMatch(/^Only you: 3 other user\(s\) ran salesforce_query without a failure in the window; .* your credentials, your input or your quota/);
    expect(denied.next).toEqual([
      { tool: 'trace_execution', arguments: { execution_id: 'sf_ana_denied' } },
      { tool: 'list_executions', arguments: { user: 'me', tool: 'salesforce_query', window: '7d' } },
    ]);

    // From the text alone: the ids, the verdicts and the calls to make next.
    const said = text(answer);
    expect(said).toContain('2 failed, stopped or terminated call(s) of yours (u_ana)');
    expect(said).toContain('sf_ana_denied: salesforce_query (sales-gateway) failed');
    expect(said).toContain('Next: trace_execution {"execution_id":"sf_ana_denied"}');
    expect(said).toContain('Everyone: jira_create_issue');
    // Only the caller's own executions are listed: another member sees only theirs.
    const ben = await connect(await outageStore(), { id: 'u_ben', role: 'member' });
    const bens = await call(ben, 'my_failures', { tool: 'jira_create_issue' });
    expect(bens.structuredContent.failures.map((f: any) => f.execution_id)).toEqual(['out_u_ben_5']);
    expect(bens.structuredContent.failures[0].verdict).toBe('everyone');
  });

  it('my_failures with nothing failed says so, and where the data is when the window is empty', async () => {
    const client = await connect(await outageStore(), { id: 'u_zed', role: 'member' });
    const none = await call(client, 'my_failures', {});
    expect(text(none)).toContain('No failed, stopped or terminated call of yours (u_zed)');
    const empty = await call(client, 'my_failures', { from: '2026-01-01', to: '2026-01-02' });
    expect(empty.structuredContent.note).toMatch(/oldest/);
  });
});
