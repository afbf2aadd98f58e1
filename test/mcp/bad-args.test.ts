import { describe, expect, it } from 'vitest';
import { call, connect, fixtureStore, text } from './harness.js';

describe('tool arguments the store cannot hold', () => {
  it('a lone surrogate or a forged cursor is an error that says how to fix the call, never an internal error', async () => {
    const store = await fixtureStore();
    const client = await connect(store);
    const cases: Array<[string, Record<string, unknown>]> = [
      ['trace_execution', { execution_id: 'wf_\ud800' }],
      ['list_executions', { user: 'u_\ud800' }],
      ['usage_summary', { tool: 'jira\udc00' }],
      ['list_executions', { cursor: 'not-a-cursor' }],
      ['list_executions', { cursor: Buffer.from('{"t":"9999-99-99","id":"x"}').toString('base64url') }],
    ];
    for (const [tool, args] of cases) {
      const result = await call(client, tool, args);
      expect(result.isError, `${tool} ${JSON.stringify(args)}`).toBe(true);
      expect(text(result), `${tool} ${JSON.stringify(args)}`).not.toMatch(/internal error/);
    }
  });

  it('a lone surrogate in an unmask reason or a caller id cannot break the audit chain', async () => {
    const store = await fixtureStore();
    const admin = await connect(store, { id: 'u_root\ud800', role: 'admin' });
    expect((await call(admin, 'unmask_execution', { execution_id: 'wf_fail', reason: 'INC-1 check \ud800 this one' })).isError).toBeFalsy();
    const log = await call(admin, 'audit_log', {});
    expect(log.structuredContent.chain).toMatchObject({ ok: true, events: 1 });
  });
});
