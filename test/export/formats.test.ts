import { describe, expect, it } from 'vitest';
import { executionEvent } from '../../src/export/events.js';
import { cefMessage, octetCounted, syslogMessage } from '../../src/export/formats.js';
import type { ExecutionRow } from '../../src/store/export.js';

const row = (overrides: Partial<ExecutionRow> = {}): ExecutionRow => ({
  execution_id: 'ex_1', started_at: '2026-10-30T10:00:00.000Z', ended_at: '2026-10-30T10:00:01.000Z', duration_ms: 1000, status: 'failed',
  tool_name: 'jira_create_issue', tool_kind: 'connector', tool_server: 'eng-gateway', user_id: 'u_ana', user_email: null, user_name: null,
  user_team: 'revops', agent_client: 'claude-desktop', agent_session_id: 's_1', agent_workflow_run_id: null, environment: 'prod', via_mcp: true,
  tasks: 1, cost_usd: null, input: '{"q":"x"}', output: null, error_type: 'http_500', error_message: 'upstream said no', error_layer: 'connector',
  step_count: 0, source: 'test', ingested_at: '2026-10-30T10:00:02.000Z', pos_at: '2026-10-30 10:00:02.000000', ...overrides,
});

const OPTIONS = { facility: 13, pen: 32473, body: 'json' as const, hostname: 'host one', procId: '42' };

describe('export formats', () => {
  it('RFC 5424: structured-data values escape ", \\ and ]; header fields are printable ASCII without spaces', () => {
    const message = syslogMessage(executionEvent(row({ user_id: 'u "q" \\ [x]' }), 'raw'), OPTIONS);
    expect(message.startsWith('<108>1 2026-10-30T10:00:00.000Z host_one mcp-blackbox 42 execution [mcp-blackbox@32473 ')).toBe(true);
    expect(message).toContain('actor="u \\"q\\" \\\\ [x\\]"');
  });

  it('octet counting counts bytes, not characters', () => {
    const framed = octetCounted('é€').toString('utf8');
    expect(framed).toBe('5 é€');
  });

  it('CEF: the header escapes | and \\; extension values escape = and \\ and keep newlines escaped', () => {
    const cef = cefMessage(executionEvent(row({ tool_name: 'a|b', user_id: 'u=1\\2\nx' }), 'raw'));
    expect(cef).toMatch(/^CEF:0\|mcp-blackbox\|mcp-blackbox\|[^|]+\|tools\/call\|u=1\\\\2 x called a\\\|b on eng-gateway: failed \(http_500\)\|6\|/);
    expect(cef).toContain('suser=u\\=1\\\\2\\nx ');
    expect(cef).not.toMatch(/\n/);
  });
});
