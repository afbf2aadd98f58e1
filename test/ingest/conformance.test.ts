import { describe, expect, it } from 'vitest';
import { blockFromText } from '../../src/ingest/lines.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { executionSchema } from '../../src/ingest/schema.js';
import { openTestStore, record } from '../helpers.js';

/**
 * The zod schema (the documented contract) and the rules validator (what ingest runs) must
 * accept and reject the same records. Each mutation below changes one field of a valid record.
 */
const WORKFLOW = record('base', {
  tool: { name: 'sync', kind: 'workflow', server: 's' },
  tasks: 3,
  cost_usd: 0.5,
  duration_ms: 10,
  via_mcp: true,
  input: { a: 1 },
  output: [1, 2],
  error: { type: 'http_500', message: 'boom', layer: 'connector' },
  agent: { client: 'cursor', session_id: 's', workflow_run_id: 'r' },
  steps: [
    { index: 0, name: 'a', status: 'succeeded', connector: 'sf', operation: 'q', started_at: '2026-10-30T10:00:00Z', ended_at: '2026-10-30T10:00:01Z', tasks: 1, auth: { mode: 'user', identity: 'u' } },
    { index: 1, name: 'b', status: 'failed', error: { type: 'x', layer: 'tool' } },
  ],
});

type Mutation = [string, (r: any) => void];
const set = (path: string, value: unknown): Mutation => [
  `${path} = ${JSON.stringify(value)}`,
  (r) => {
    const keys = path.split('.');
    let target = r;
    for (const k of keys.slice(0, -1)) target = target[k];
    if (value === undefined) delete target[keys.at(-1)!];
    else target[keys.at(-1)!] = value;
  },
];

const MUTATIONS: Mutation[] = [
  set('execution_id', ''), set('execution_id', 7), set('execution_id', 'x'.repeat(128)),
  set('started_at', '2026-10-30T10:00:00'), set('started_at', '2026-10-30T10:00:00.123+05:30'), set('started_at', 1730000000),
  set('started_at', '2026-13-45T10:00:00Z'), set('started_at', '2026-02-30T10:00:00Z'), set('started_at', '2024-02-29T23:59:59.5-01:00'),
  set('started_at', '2026-10-30T24:00:00Z'), set('started_at', '2026-10-30T10:00:00+25:00'), set('ended_at', null), set('ended_at', 'yesterday'),
  set('duration_ms', 0), set('duration_ms', -5), set('duration_ms', '5'), set('duration_ms', 1.5),
  set('status', 'terminated'), set('status', 'Succeeded'), set('status', undefined),
  set('tool', 'jira'), set('tool.name', undefined), set('tool.name', ''), set('tool.kind', 'connector'), set('tool.kind', 'flow'), set('tool.server', null), set('tool.server', 3),
  set('user', undefined), set('user.id', null), set('user.email', false), set('user.team', 'x'),
  set('agent', null), set('agent', 'cursor'), set('agent.client', 5),
  set('environment', 'staging'), set('environment', ['prod']),
  set('via_mcp', false), set('via_mcp', 'false'), set('via_mcp', null),
  set('tasks', 0), set('tasks', -1), set('cost_usd', -0.01), set('cost_usd', 1e-9),
  set('input', 'text'), set('input', null), set('output', { deep: { x: [1] } }),
  set('error', null), set('error', 'boom'), set('error.layer', 'db'), set('error.type', 1),
  set('steps', null), set('steps', []), set('steps', 'none'), set('steps', [1]),
  set('steps.0.index', -1), set('steps.0.index', 2.0), set('steps.0.index', '0'), set('steps.1.name', undefined),
  set('steps.1.status', 'ok'), set('steps.0.started_at', 'now'), set('steps.0.tasks', -2), set('steps.0.auth', 'user'),
  set('steps.0.auth.mode', 'none'), set('steps.0.auth.mode', 'admin'), set('steps.0.auth.identity', 9), set('steps.1.error.layer', 'llm'),
  set('steps.1.error', 'x'), set('extra_top_level', { any: 'thing' }), set('tool.version', 2),
  set('tasks', 1e9), set('tasks', 1e308), set('cost_usd', 1e9 + 1), set('duration_ms', 1e12), set('duration_ms', 1e13),
  set('steps.0.index', 2 ** 31 - 1), set('steps.0.index', 2 ** 31), set('steps.0.tasks', 1e10),
];

describe('format conformance: zod schema vs the ingest validator', () => {
  it('agree on every mutation of a valid record', async () => {
    const store = await openTestStore();
    const records = MUTATIONS.map(([, mutate], i) => {
      const r = structuredClone(WORKFLOW) as any;
      r.execution_id = `m${i}`;
      mutate(r);
      return r;
    });
    records.unshift({ ...structuredClone(WORKFLOW), execution_id: 'valid' });
    await ingestLines(store, blockFromText(records.map((r) => JSON.stringify(r)).join('\n')), 'conformance');
    const reasons = new Map(
      (await store.read((db) => db.all<{ line_no: number; reason: string }>('SELECT line_no::INTEGER AS line_no, reason FROM quarantine'))).map((r) => [r.line_no, r.reason]),
    );
    const disagreements: string[] = [];
    records.forEach((r, i) => {
      const zodValid = executionSchema.safeParse(r).success;
      const sqlReason = reasons.get(i + 1);
      if (zodValid !== (sqlReason === undefined)) {
        disagreements.push(`${i === 0 ? 'valid record' : MUTATIONS[i - 1]![0]}: zod ${zodValid ? 'accepts' : 'rejects'}, SQL ${sqlReason ?? 'accepts'}`);
      }
    });
    expect(disagreements).toEqual([]);
    // The mutations are not all trivially valid or invalid: both outcomes occur.
    expect(reasons.size).toBeGreaterThan(20);
    expect(records.length - reasons.size).toBeGreaterThan(20);
  });
});
