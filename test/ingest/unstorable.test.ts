import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingestFiles } from '../../src/ingest/files.js';
import { MAX_AMOUNT, MAX_DURATION_MS, MAX_NESTING_DEPTH, MAX_STEP_INDEX } from '../../src/ingest/format.js';
import { LogTailer } from '../../src/ingest/tailer.js';
import { TOOLS } from '../../src/mcp/registry.js';
import type { Store } from '../../src/store/store.js';
import { bearer, startHttp, TOKENS } from '../http/harness.js';
import { call, connect, SAMPLE_ARGS } from '../mcp/harness.js';
import { count, openTestStore, record, tempDir } from '../helpers.js';

type Json = Record<string, unknown>;

/** `levels` objects, one inside the other. */
const nested = (levels: number): unknown => {
  let value: unknown = 'bottom';
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
};
const step = (extra: Json = {}) => ({ index: 0, name: 'Lookup', status: 'failed', ...extra });
const workflow = (id: string, extra: Json) => record(id, { tool: { name: 'sync', kind: 'workflow', server: 'g' }, status: 'failed', ...extra });

/**
 * One value past each limit of the store, as the line that carries it. A lone surrogate is written
 * as the JSON escape a producer would send (`\ud800`): JSON.stringify writes exactly that.
 */
const PAST_THE_LIMIT: Array<[string, string, string]> = [
  ['execution_id longer than 128', JSON.stringify(record('x'.repeat(129))), 'invalid_value:execution_id'],
  ['lone surrogate in execution_id', JSON.stringify(record('id_\ud800')), 'invalid_value:execution_id'],
  ['lone surrogate in tool.name', JSON.stringify(record('s_tool', { tool: { name: 'jira\udc00' } })), 'invalid_value:tool'],
  ['lone surrogate in user.id', JSON.stringify(record('s_user', { user: { id: 'u_\ud800' } })), 'invalid_value:user'],
  ['lone surrogate in error.message', JSON.stringify(record('s_err', { status: 'failed', error: { type: 'x', message: 'bad \ud800' } })), 'invalid_value:error'],
  ['lone surrogate in an input value', JSON.stringify(record('s_in', { input: { q: '\udfff' } })), 'invalid_value:input'],
  ['lone surrogate in an input key', JSON.stringify(record('s_key', { input: { ['k\ud800']: 1 } })), 'invalid_value:input'],
  ['lone surrogate in an unknown field', JSON.stringify(record('s_extra', { custom: '\ud800' })), 'invalid_value:custom'],
  ['lone surrogate in a step name', JSON.stringify(workflow('s_step', { steps: [step({ name: 'Look\ud800' })] })), 'invalid_value:steps[0].name'],
  ['lone surrogate in a step connector', JSON.stringify(workflow('s_conn', { steps: [step({ connector: '\ud800' })] })), 'invalid_value:steps[0].connector'],
  ['step index past INT32', JSON.stringify(workflow('big_index', { steps: [step({ index: MAX_STEP_INDEX + 1 })] })), 'invalid_value:steps[0].index'],
  ['tasks of 1e308', JSON.stringify(record('huge_tasks', { tasks: 1e308 })), 'invalid_value:tasks'],
  ['tasks past the maximum', JSON.stringify(record('over_tasks', { tasks: MAX_AMOUNT * 1.5 })), 'invalid_value:tasks'],
  ['cost_usd of 1e308', JSON.stringify(record('huge_cost', { cost_usd: 1e308 })), 'invalid_value:cost_usd'],
  ['duration_ms past the maximum', JSON.stringify(record('huge_duration', { duration_ms: MAX_DURATION_MS * 10 })), 'invalid_value:duration_ms'],
  ['step tasks of 1e308', JSON.stringify(workflow('huge_step_tasks', { steps: [step({ tasks: 1e308 })] })), 'invalid_value:steps[0].tasks'],
  ['input nested too deep', JSON.stringify(record('deep_in', { input: nested(MAX_NESTING_DEPTH + 1) })), 'too_deep:input'],
  ['output nested 100,000 levels', `{"execution_id":"deep_out","started_at":"2026-10-30T10:00:00Z","status":"succeeded","tool":{"name":"t"},"user":{"id":"u"},"output":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, 'too_deep:output'],
  ['a step input nested too deep', JSON.stringify(workflow('deep_step', { steps: [step({ input: nested(MAX_NESTING_DEPTH + 1) })] })), 'too_deep:steps[0].input'],
  ['an unknown field nested too deep', JSON.stringify(record('deep_extra', { custom: nested(MAX_NESTING_DEPTH + 1) })), 'too_deep:custom'],
];

/** The same fields at their limits: all stored. */
const AT_THE_LIMIT: Json[] = [
  record('ok_id'.padEnd(128, 'x')),
  workflow('ok_index', { steps: [step({ index: MAX_STEP_INDEX, tasks: MAX_AMOUNT })] }),
  record('ok_amounts', { tasks: MAX_AMOUNT, cost_usd: MAX_AMOUNT, duration_ms: MAX_DURATION_MS }),
  record('ok_depth', { input: nested(MAX_NESTING_DEPTH), output: nested(MAX_NESTING_DEPTH) }),
  record('ok_pair', { error: { message: 'emoji \ud83d\ude00 and NUL \u0000 are text' }, input: { '\ud83d\ude00': 'pair' } }),
];

const good = (n: number) => Array.from({ length: n }, (_, i) => record(`good_${i}`));
const badLines = PAST_THE_LIMIT.map(([, line]) => line);

async function quarantineReasons(store: Store): Promise<string[]> {
  return (await store.read((db) => db.all<{ reason: string }>('SELECT reason FROM quarantine ORDER BY line_no'))).map((r) => r.reason);
}

describe('a value the store cannot hold costs only its own record', () => {
  it('file ingest: every value past a limit is quarantined with its field, the rest of the file is stored', async () => {
    const store = await openTestStore();
    const dir = tempDir();
    const all = [...good(3).map((r) => JSON.stringify(r)), ...badLines, ...AT_THE_LIMIT.map((r) => JSON.stringify(r)), ...good(2).map((r) => JSON.stringify(r).replace('good_', 'late_'))];
    writeFileSync(join(dir, 'mixed.jsonl'), `${all.join('\n')}\n`);
    const summary = await ingestFiles(store, [dir]);
    expect(summary.failed).toEqual([]);
    expect(summary.inserted).toBe(3 + AT_THE_LIMIT.length + 2);
    const reasons = await quarantineReasons(store);
    expect(reasons.map((r) => r.split(' ')[0])).toEqual(PAST_THE_LIMIT.map(([, , reason]) => reason));
    expect(reasons.find((r) => r.startsWith('invalid_value:input'))).toMatch(/lone UTF-16 surrogate/);
    expect(reasons.find((r) => r.startsWith('too_deep'))).toMatch(/nested deeper than 100 levels/);
    expect(await count(store, "SELECT count(*) FROM steps WHERE step_index = 2147483647")).toBe(1);
  });

  it('invalid UTF-8 bytes in one line quarantine that line only', async () => {
    const store = await openTestStore();
    const dir = tempDir();
    const bad = Buffer.from(JSON.stringify(record('bad_bytes', { error: { message: 'XX' } })).replace('XX', '\u00ff\u00fe'), 'latin1');
    writeFileSync(join(dir, 'bytes.jsonl'), Buffer.concat([Buffer.from(`${JSON.stringify(record('b1'))}\n`), bad, Buffer.from(`\n${JSON.stringify(record('b2'))}\n`)]));
    const summary = await ingestFiles(store, [dir]);
    expect(summary).toMatchObject({ inserted: 2, quarantined: { invalid_utf8: 1 }, failed: [] });
  });

  it('HTTP: one batch with every bad value answers 200, keeps the good records and names each bad one', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store);
    const body = [...good(2).map((r) => JSON.stringify(r)), ...badLines].join('\n');
    const reply = await fetch(`${url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/x-ndjson' }, body });
    expect(reply.status).toBe(200);
    const json = (await reply.json()) as { received: number; accepted: number; rejected: number; errors: Array<{ index: number; reason: string }> };
    expect(json).toMatchObject({ received: 2 + badLines.length, accepted: 2, rejected: badLines.length });
    expect(json.errors.map((e) => e.reason.split(' ')[0])).toEqual(PAST_THE_LIMIT.map(([, , reason]) => reason));
    expect(json.errors[0]!.index).toBe(2);
  });

  it('HTTP: JSON nested 100,000 levels is a 4xx, not a stack overflow, as an array item or as the body', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store);
    const deepRecord = `{"execution_id":"deep","started_at":"2026-10-30T10:00:00Z","status":"succeeded","tool":{"name":"t"},"user":{"id":"u"},"input":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`;
    const post = (body: string) => fetch(`${url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/json' }, body });
    const alone = await post(deepRecord);
    expect(alone.status).toBe(422);
    expect(await alone.json()).toMatchObject({ received: 1, accepted: 0, errors: [{ index: 0, reason: expect.stringMatching(/^too_deep:input/) }] });
    const withGood = await post(`[${JSON.stringify(record('g1'))},${deepRecord}]`);
    expect(withGood.status).toBe(200);
    expect(await withGood.json()).toMatchObject({ received: 2, accepted: 1, rejected: 1 });
    expect(await count(store, 'SELECT count(*) FROM executions')).toBe(1);
    // An item whose steps are not objects, deep payload and all: still a 4xx naming the field.
    const oddSteps = await post(`[${deepRecord.replace('"status":"succeeded",', '"status":"succeeded","steps":[null, 3],')}]`);
    expect(oddSteps.status).toBe(422);
    expect(await oddSteps.json()).toMatchObject({ errors: [{ index: 0, reason: expect.stringMatching(/^too_deep:input/) }] });
  });

  it('HTTP: one line limit for every source, and blank lines are no records', async () => {
    const store = await openTestStore();
    const { url } = await startHttp(store);
    const post = (body: string) => fetch(`${url}/v1/executions`, { method: 'POST', headers: { ...bearer(TOKENS.gateway), 'content-type': 'application/x-ndjson' }, body });
    const long = JSON.stringify(record('too_long', { input: { blob: 'x'.repeat(1024 * 1024) } }));
    const reply = await post(`${JSON.stringify(record('short'))}\n${long}\n`);
    expect(await reply.json()).toMatchObject({ received: 2, accepted: 1, rejected: 1, errors: [{ index: 1, reason: 'line_too_long' }] });
    const blanks = await post(`\n\n${JSON.stringify(record('r1'))}\n\n   \n${JSON.stringify(record('r2'))}\n\n`);
    expect(await blanks.json()).toMatchObject({ received: 2, accepted: 2, rejected: 0 });
    const blanksAndBad = await post('\n\n{not json\n\n');
    expect(blanksAndBad.status).toBe(422);
    expect(await blanksAndBad.json()).toMatchObject({ received: 1, rejected: 1 });
  });

  it('--watch quarantines the bad line and goes on ingesting the same file', async () => {
    const store = await openTestStore();
    const dir = tempDir();
    const file = join(dir, 'live.jsonl');
    writeFileSync(file, `${JSON.stringify(record('w1'))}\n${badLines[4]}\n`);
    const tailer = new LogTailer(store, { dirs: [dir], sweepIntervalMs: 100 });
    await tailer.start();
    try {
      expect(await count(store, 'SELECT count(*) FROM executions')).toBe(1);
      appendFileSync(file, `${JSON.stringify(record('w2'))}\n${badLines[10]}\n${JSON.stringify(record('w3'))}\n`);
      const deadline = Date.now() + 5000;
      while ((await count(store, 'SELECT count(*) FROM executions')) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await count(store, 'SELECT count(*) FROM executions')).toBe(3);
      expect(await count(store, 'SELECT count(*) FROM quarantine')).toBe(2);
    } finally {
      await tailer.stop();
    }
  });

  it('the largest values allowed keep every aggregate finite for every tool', async () => {
    const store = await openTestStore();
    const dir = tempDir();
    const big = Array.from({ length: 50 }, (_, i) => record(`max_${i}`, { tasks: MAX_AMOUNT, cost_usd: MAX_AMOUNT, duration_ms: MAX_DURATION_MS }));
    writeFileSync(join(dir, 'max.jsonl'), `${big.map((r) => JSON.stringify(r)).join('\n')}\n`);
    await ingestFiles(store, [dir]);
    // A named admin: my_failures answers for a caller with a name, and the anonymous local admin has none.
    const client = await connect(store, { id: 'u_ana', role: 'admin' });
    for (const tool of TOOLS) {
      if (tool.name === 'unmask_execution' || tool.name === 'trace_execution') continue;
      const result = await call(client, tool.name, SAMPLE_ARGS[tool.name] ?? {});
      expect(result.isError, `${tool.name}: ${JSON.stringify(result.content)}`).toBeFalsy();
      expect(JSON.stringify(result.structuredContent)).not.toMatch(/Infinity|NaN/);
    }
    const cost = await call(client, 'cost_by_user', {});
    expect(cost.structuredContent.users?.[0] ?? cost.structuredContent.rows?.[0]).toBeDefined();
  });
});

describe('trace_execution caps its steps', () => {
  it('5,000 steps: the first 200 and the first failing one, with how many were left out', async () => {
    const store = await openTestStore();
    const dir = tempDir();
    const steps = Array.from({ length: 5000 }, (_, i) => ({ index: i, name: `s${i}`, status: i === 4321 ? 'failed' : 'succeeded' }));
    writeFileSync(join(dir, 'many.jsonl'), `${JSON.stringify(workflow('many_steps', { steps }))}\n`);
    await ingestFiles(store, [dir]);
    const result = await call(await connect(store), 'trace_execution', { execution_id: 'many_steps' });
    expect(result.isError).toBeFalsy();
    const trace = result.structuredContent;
    expect(trace.steps).toHaveLength(201);
    expect(trace.steps.at(-1).index).toBe(4321);
    expect(trace).toMatchObject({ step_total: 5000, steps_omitted: 4799, failing_step: 4321 });
    const text = result.content.map((c: any) => c.text).join('');
    expect(text).toContain('Showing 201 of 5000 steps');
    expect(text).toContain('Failing step: step 4322 of 5000, s4321.');
  });
});
