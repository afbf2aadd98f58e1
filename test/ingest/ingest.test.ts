import { randomUUID } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ingestLines, quarantinedTotal, type BatchResult } from '../../src/ingest/batch.js';
import { blockFromText } from '../../src/ingest/lines.js';
import { ingestFiles } from '../../src/ingest/files.js';
import { fixedClock } from '../../src/clock.js';
import { Store } from '../../src/store/store.js';
import { count, lines, openTestStore, record, tempDir, TEST_NOW } from '../helpers.js';

async function ingestText(store: Store, text: string, name = 'a.jsonl') {
  const dir = tempDir();
  const path = join(dir, name);
  writeFileSync(path, name.endsWith('.gz') ? gzipSync(text) : text);
  return ingestFiles(store, [path]);
}

async function stored(store: Store, id: string) {
  return store.read((db) =>
    db.one<Record<string, unknown>>(
      `SELECT status, strftime(started_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS started_at, strftime(ended_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS ended_at,
              duration_ms, tasks, via_mcp, tool_kind, attributes, input, output, step_count
       FROM executions WHERE execution_id = $id`,
      { id },
    ),
  );
}

describe('file ingest: idempotency', () => {
  it('a failed first write leaves the store able to ingest: the batch tables it created are rolled back with it', async () => {
    const store = await openTestStore();
    const block = blockFromText(lines(record('f1'), record('f2')).trimEnd());
    // A checkpoint offset no BIGINT holds fails the transaction after the records were merged.
    const unstorable = { fingerprint: 'f', fingerprintBytes: 1, path: 'p', byteOffset: 2 ** 70, lineNo: 1 };
    await expect(ingestLines(store, block, 'test', { checkpoint: unstorable })).rejects.toThrow();
    expect(await count(store, 'SELECT count(*) FROM executions')).toBe(0);
    expect(await ingestLines(store, block, 'test')).toMatchObject({ inserted: 2 });
    expect(await ingestText(store, lines(record('f3')))).toMatchObject({ inserted: 1, failed: [] });
  });

  it('a repeated file and repeated lines never double count', async () => {
    const store = await openTestStore();
    const text = lines(record('e1'), record('e2'), record('e1'));
    const first = await ingestText(store, text);
    expect(first).toMatchObject({ lines: 3, inserted: 2, updated: 0, duplicates: 1 });
    const second = await ingestText(store, text);
    expect(second).toMatchObject({ lines: 3, inserted: 0, updated: 0, duplicates: 3 });
    expect(await count(store, 'SELECT count(*) FROM executions')).toBe(2);
  });

  it('a final record supersedes running, across batches and in either order', async () => {
    const store = await openTestStore();
    const running = record('e1', { status: 'running', ended_at: undefined });
    const final = record('e1', { status: 'failed', ended_at: '2026-10-30T10:00:05Z', error: { type: 'timeout', layer: 'platform' } });
    expect(await ingestText(store, lines(running))).toMatchObject({ inserted: 1 });
    expect(await ingestText(store, lines(final))).toMatchObject({ inserted: 0, updated: 1 });
    expect(await stored(store, 'e1')).toMatchObject({ status: 'failed', duration_ms: 5000 });
    // A late `running` delivery must not resurrect the execution.
    expect(await ingestText(store, lines(running))).toMatchObject({ updated: 0, duplicates: 1 });
    expect((await stored(store, 'e1'))?.status).toBe('failed');

    // Out of order within one batch: final first, then running.
    expect(await ingestText(store, lines(record('e2', { status: 'succeeded' }), record('e2', { status: 'running', ended_at: undefined })))).toMatchObject({ inserted: 1, duplicates: 1 });
    expect((await stored(store, 'e2'))?.status).toBe('succeeded');
    expect(await count(store, 'SELECT count(*) FROM executions')).toBe(2);
  });

  it('keeps the failures table in step: a failure enters it, and leaves when a later record replaces it', async () => {
    const store = await openTestStore();
    const failures = () => count(store, "SELECT count(*) FROM failures WHERE execution_id = 'e1'");
    await ingestText(store, lines(record('e1', { status: 'running', ended_at: undefined })));
    expect(await failures()).toBe(0);
    await ingestText(store, lines(record('e1', { status: 'failed', ended_at: '2026-10-30T10:00:05Z', error: { type: 'timeout', layer: 'platform' } })));
    expect(await failures()).toBe(1);
    await ingestText(store, lines(record('e1', { status: 'failed', ended_at: '2026-10-30T10:00:05Z', error: { type: 'timeout', layer: 'platform' } })));
    expect(await failures()).toBe(1);
    await ingestText(store, lines(record('e1', { status: 'succeeded', ended_at: '2026-10-30T10:00:09Z' })));
    expect(await failures()).toBe(0);
  });

  it('keeps the connector of the lowest-index failed step that names one, as the migration does', async () => {
    const store = await openTestStore();
    const steps = [
      { index: 3, name: 'Post', connector: 'slack', status: 'failed' },
      { index: 0, name: 'Plan', status: 'failed' },
      { index: 1, name: 'Page', connector: 'pagerduty', status: 'terminated' },
      { index: 2, name: 'Read', connector: 'jira', status: 'succeeded' },
    ];
    await ingestText(store, lines(record('wf1', { status: 'failed', tool: { name: 'wf', kind: 'workflow' }, steps, error: { type: 'x', layer: 'connector' } })));
    const connectors = await store.read((db) =>
      db.all(`SELECT e.failing_connector AS stored, f.failing_connector AS listed FROM executions e JOIN failures f USING (execution_id)`),
    );
    expect(connectors).toEqual([{ stored: 'pagerduty', listed: 'pagerduty' }]);
  });

  it('among terminal records the later ended_at wins, and steps follow the winner', async () => {
    const store = await openTestStore();
    const step = (status: string) => ({ index: 0, name: 'Call', status, tasks: 2 });
    const early = record('e1', { status: 'failed', ended_at: '2026-10-30T10:00:03Z', tool: { name: 'wf', kind: 'workflow' }, steps: [step('failed')] });
    const late = record('e1', { status: 'succeeded', ended_at: '2026-10-30T10:00:09Z', tool: { name: 'wf', kind: 'workflow' }, steps: [step('succeeded'), { index: 1, name: 'Notify', status: 'succeeded' }] });
    await ingestText(store, lines(late));
    expect(await ingestText(store, lines(early))).toMatchObject({ updated: 0, duplicates: 1 });
    expect(await stored(store, 'e1')).toMatchObject({ status: 'succeeded', step_count: 2, tasks: 3 });
    expect(await count(store, "SELECT count(*) FROM steps WHERE execution_id = 'e1'")).toBe(2);

    const later = { ...late, ended_at: '2026-10-30T10:00:20Z', status: 'stopped', steps: [step('stopped')] };
    expect(await ingestText(store, lines(later))).toMatchObject({ updated: 1 });
    expect(await stored(store, 'e1')).toMatchObject({ status: 'stopped', step_count: 1 });
    expect(await count(store, "SELECT count(*) FROM steps WHERE execution_id = 'e1'")).toBe(1);

    // A winner without steps leaves none of the replaced one's; a running record without steps
    // gains the final record's. With write statements prepared once and reused, this sequence
    // crashed the process: the rollup's plan, made while every stored tool name was 'wf', met
    // 'jira_create_issue' (see wrap() in store.ts).
    const bare = { ...late, ended_at: '2026-10-30T10:00:30Z', status: 'failed', steps: undefined };
    expect(await ingestText(store, lines(bare))).toMatchObject({ updated: 1 });
    expect(await stored(store, 'e1')).toMatchObject({ status: 'failed', step_count: 0 });
    expect(await count(store, "SELECT count(*) FROM steps WHERE execution_id = 'e1'")).toBe(0);
    await ingestText(store, lines(record('e2', { status: 'running', ended_at: undefined })));
    expect(await ingestText(store, lines(record('e2', { tool: { name: 'wf', kind: 'workflow' }, steps: [step('succeeded')] })))).toMatchObject({ updated: 1 });
    expect(await count(store, "SELECT count(*) FROM steps WHERE execution_id = 'e2'")).toBe(1);
  });

  it('replaces the stored steps of many running executions, with text and UUID ids, by their final ones', async () => {
    const store = await openTestStore();
    const replaced = 40;
    const ids = Array.from({ length: replaced }, (_, i) => (i % 2 ? randomUUID() : `wf${i}`));
    const untouched = record('other', { tool: { name: 'wf', kind: 'workflow' }, steps: [{ index: 0, name: 'Keep', status: 'succeeded' }] });
    const running = ids.map((id) =>
      record(id, { status: 'running', ended_at: undefined, tool: { name: 'wf', kind: 'workflow' }, steps: [0, 1, 2].map((index) => ({ index, name: `Draft ${index}`, status: 'running' })) }),
    );
    await ingestText(store, lines(untouched, ...running));
    expect(await count(store, 'SELECT count(*) FROM steps')).toBe(1 + 3 * replaced);

    const final = ids.map((id) => record(id, { tool: { name: 'wf', kind: 'workflow' }, steps: [{ index: 0, name: 'Done', status: 'succeeded' }] }));
    expect(await ingestText(store, lines(...final))).toMatchObject({ updated: replaced });
    const steps = await store.read((db) => db.all<{ execution_id: string; name: string }>('SELECT execution_id, name FROM steps ORDER BY execution_id'));
    expect(steps).toEqual([...ids.map((id) => ({ execution_id: id, name: 'Done' })), { execution_id: 'other', name: 'Keep' }].sort((a, b) => a.execution_id.localeCompare(b.execution_id)));
  });
});

describe('file ingest: batches and transactions', () => {
  // Repeats, running-then-final pairs and bad lines spread so that small batches split them.
  function mixedFleet(): string {
    const out: unknown[] = [];
    for (let i = 0; i < 40; i++) {
      const id = `m${i}`;
      const steps = i % 3 === 0 ? [{ index: 0, name: 'Call', status: 'succeeded', tasks: 2, input: { q: i } }] : undefined;
      if (i % 4 === 0) out.push(record(id, { status: 'running', ended_at: undefined, steps }));
      out.push(record(id, { steps, tool: { name: 'wf', kind: steps ? 'workflow' : 'connector' } }));
      if (i % 5 === 0) out.push(record(id, { steps, tool: { name: 'wf', kind: steps ? 'workflow' : 'connector' } }));
      if (i % 9 === 0) out.push(`{"broken": ${i}`);
    }
    return lines(...(out as Array<Record<string, unknown> | string>));
  }

  function mixedFleetFile(): string {
    const path = join(tempDir(), 'mixed.jsonl');
    writeFileSync(path, mixedFleet());
    return path;
  }

  /** 400 records, gzipped and cut at 60%: the file breaks off mid-way. */
  function cutGzipFile(): string {
    const text = lines(...Array.from({ length: 400 }, (_, i) => record(`t${i}`, { input: { note: `row ${i} `.repeat(20) } })));
    const zipped = gzipSync(text);
    const path = join(tempDir(), 'cut.jsonl.gz');
    writeFileSync(path, zipped.subarray(0, Math.floor(zipped.length * 0.6)));
    return path;
  }

  async function snapshot(store: Store) {
    return store.read((db) =>
      db.all(`SELECT e.execution_id, e.status, e.step_count, e.tasks, (SELECT count(*)::INTEGER FROM steps s WHERE s.execution_id = e.execution_id) AS steps,
                     (SELECT count(*)::INTEGER FROM quarantine) AS quarantined
              FROM executions e ORDER BY e.execution_id`),
    );
  }

  it('gives the same result in one batch or in many small batches over several transactions', async () => {
    const path = mixedFleetFile();
    const whole = await openTestStore();
    const wholeSummary = await ingestFiles(whole, [path]);
    const pieces = await openTestStore();
    const piecesSummary = await ingestFiles(pieces, [path], { batchBytes: 700, transactionRecords: 9 });
    expect(wholeSummary).toMatchObject({ lines: 63, inserted: 40, updated: 0, duplicates: 18, quarantined: { invalid_json: 5 } });
    expect(piecesSummary).toEqual(wholeSummary);
    expect(await snapshot(pieces)).toEqual(await snapshot(whole));
    expect(await count(pieces, "SELECT count(*) FROM executions WHERE status = 'running'")).toBe(0);
  });

  /** Transactions of 9 records that store new executions in row groups of 5 rows (standing in for DuckDB's 122,880). */
  async function ingestInSmallAlignedTransactions(store: Store, path: string) {
    const transactions: BatchResult[] = [];
    const summary = await ingestFiles(store, [path], {
      batchBytes: 700,
      transactionRecords: 9,
      alignStoredRows: 5,
      onTransaction: (_, result) => transactions.push(result),
    });
    return { summary, transactions };
  }

  it('stores new executions in whole row groups until the last transaction, and the outcome is the same', async () => {
    const path = mixedFleetFile();
    const whole = await openTestStore();
    const wholeSummary = await ingestFiles(whole, [path]);
    const aligned = await openTestStore();
    const { summary, transactions } = await ingestInSmallAlignedTransactions(aligned, path);
    expect(summary).toEqual(wholeSummary);
    expect(await snapshot(aligned)).toEqual(await snapshot(whole));
    const deferring = transactions.filter((t) => t.deferred > 0);
    expect(deferring.length).toBeGreaterThan(1);
    for (const t of deferring) expect((t.inserted + t.updated) % 5).toBe(0);
    expect(transactions.at(-1)!.deferred).toBe(0);
  });

  it('looks again in the whole table when a record moved its start out of its transaction\'s span, records carried over included', async () => {
    // x0 is stored by the first transaction; its final record, which moved its start, arrives in
    // a later one whose span (its own lines and those carried over) misses the stored copy.
    const text = lines(
      record('x0', { started_at: '2026-10-29T08:00:00Z', ended_at: undefined, status: 'running' }),
      ...Array.from({ length: 30 }, (_, i) => record(`r${i}`, { started_at: '2026-10-30T10:00:00Z' })),
      record('x0', { started_at: '2026-10-30T12:00:00Z', ended_at: '2026-10-30T12:00:03Z', status: 'failed', error: { type: 'timeout', layer: 'platform' } }),
      ...Array.from({ length: 5 }, (_, i) => record(`s${i}`, { started_at: '2026-10-30T12:00:01Z' })),
    );
    const path = join(tempDir(), 'moved.jsonl');
    writeFileSync(path, text);
    const whole = await openTestStore();
    expect(await ingestFiles(whole, [path])).toMatchObject({ lines: 37, inserted: 36, updated: 0, duplicates: 1 });
    const pieces = await openTestStore();
    const { summary, transactions } = await ingestInSmallAlignedTransactions(pieces, path);
    expect(summary).toMatchObject({ lines: 37, inserted: 36, updated: 1, duplicates: 0, failed: [] });
    expect(transactions.some((t) => t.deferred > 0)).toBe(true);
    expect(await snapshot(pieces)).toEqual(await snapshot(whole));
    expect(await stored(pieces, 'x0')).toMatchObject({ status: 'failed', started_at: '2026-10-30T12:00:00.000Z' });
    expect(await count(pieces, "SELECT count(*) FROM failures WHERE execution_id = 'x0'")).toBe(1);
  });

  it('stores the records held back for alignment when a file breaks off', async () => {
    const path = cutGzipFile();
    const store = await openTestStore();
    const transactions: BatchResult[] = [];
    const summary = await ingestFiles(store, [path], {
      batchBytes: 4096,
      transactionRecords: 50,
      alignStoredRows: 7,
      onTransaction: (_, result) => transactions.push(result),
    });
    expect(summary.failed).toHaveLength(1);
    expect(transactions.some((t) => t.deferred > 0)).toBe(true);
    // Every line read is accounted for, and every stored one is counted.
    expect(summary.inserted + summary.updated + summary.duplicates + quarantinedTotal(summary)).toBe(summary.lines);
    expect(await count(store, 'SELECT count(*) FROM executions')).toBe(summary.inserted);
  });

  it('checkpoints once enough executions are stored, so their index entries do not pile up in memory', async () => {
    const dir = tempDir();
    const path = join(dir, 'bulk.jsonl');
    writeFileSync(path, lines(...Array.from({ length: 30 }, (_, i) => record(`b${i}`))));
    const walAfterIngest = async (checkpointEveryRows: number) => {
      const name = `bulk-${checkpointEveryRows}.duckdb`;
      // A WAL threshold the file never reaches: only the ingest's own requests checkpoint.
      const store = await Store.open({ path: join(dir, name), clock: fixedClock(new Date(TEST_NOW)), checkpointWalBytes: 2 ** 40 });
      try {
        await ingestFiles(store, [path], { batchBytes: 700, transactionRecords: 9, checkpointEveryRows });
        await store.write(async () => undefined); // behind a checkpoint requested by the last transaction
        const wal = join(dir, `${name}.wal`);
        return existsSync(wal) ? statSync(wal).size : 0;
      } finally {
        await store.close();
      }
    };
    expect(await walAfterIngest(1_000)).toBeGreaterThan(0); // 30 stored: under the threshold
    expect(await walAfterIngest(1)).toBe(0); // every storing transaction is followed by one
  });

  it('commits the lines read before a file breaks off, and reports the file as failed', async () => {
    const path = cutGzipFile();
    const store = await openTestStore();
    const summary = await ingestFiles(store, [path], { batchBytes: 4096, transactionRecords: 1_000_000 });
    expect(summary.failed).toEqual([{ path, error: expect.stringMatching(/unexpected end of file/i) }]);
    expect(summary.inserted).toBeGreaterThan(0);
    expect(summary.inserted).toBeLessThan(400);
    expect(await count(store, 'SELECT count(*) FROM executions')).toBe(summary.inserted);
  });
});

describe('file ingest: normalisation', () => {
  it('stores UTC, derives duration and tasks, applies defaults and keeps unknown fields', async () => {
    const store = await openTestStore();
    await ingestText(
      store,
      lines(
        record('e1', { started_at: '2026-10-30T11:00:00+01:00', ended_at: '2026-10-30T10:00:01.500Z', tool: { name: 't', version: '2.1' }, region: 'eu', input: { q: 'x' }, output: 'plain text' }),
        record('wf1', { tool: { name: 'wf', kind: 'workflow' }, steps: [{ index: 0, name: 'a', status: 'succeeded', tasks: 2 }, { index: 1, name: 'b', status: 'succeeded' }], via_mcp: false }),
        record('wf2', { tool: { name: 'wf', kind: 'workflow' }, tasks: 7, steps: [{ index: 0, name: 'a', status: 'succeeded', tasks: 2 }] }),
      ),
    );
    const e1 = await stored(store, 'e1');
    expect(e1).toMatchObject({ started_at: '2026-10-30T10:00:00.000Z', duration_ms: 1500, tasks: 1, via_mcp: true, tool_kind: 'connector' });
    expect(JSON.parse(e1!.attributes as string)).toEqual({ region: 'eu', 'tool.version': '2.1' });
    expect(JSON.parse(e1!.input as string)).toEqual({ q: 'x' });
    expect(JSON.parse(e1!.output as string)).toBe('plain text');
    expect(await stored(store, 'wf1')).toMatchObject({ tasks: 3, via_mcp: false, step_count: 2 });
    expect(await stored(store, 'wf2')).toMatchObject({ tasks: 7 });
  });

  it('keeps unknown fields even when they are named like the loader\'s own (__line, __tasks)', async () => {
    const store = await openTestStore();
    const summary = await ingestText(store, lines(record('odd', { __line: 'mine', __tasks: 99, extra: true })));
    expect(summary).toMatchObject({ inserted: 1, quarantined: {} });
    const row = await stored(store, 'odd');
    expect(JSON.parse(row!.attributes as string)).toEqual({ __line: 'mine', __tasks: 99, extra: true });
    expect(row!.tasks).toBe(1);
  });

  it('records every tool in the catalog with the span of its use', async () => {
    const store = await openTestStore();
    await ingestText(store, lines(record('e1', { started_at: '2026-10-01T00:00:00Z' }), record('e2', { started_at: '2026-10-20T00:00:00Z' })));
    const tools = await store.read((db) => db.all(`SELECT name, server, kind, strftime(first_seen, '%Y-%m-%d') AS first, strftime(last_seen, '%Y-%m-%d') AS last FROM tools`));
    expect(tools).toEqual([{ name: 'jira_create_issue', server: 'eng-gateway', kind: 'connector', first: '2026-10-01', last: '2026-10-20' }]);
  });

  it('accepts a file that starts with a UTF-8 byte order mark', async () => {
    const store = await openTestStore();
    expect(await ingestText(store, `\uFEFF${lines(record('bom1'), record('bom2'))}`)).toMatchObject({ inserted: 2, quarantined: {} });
  });

  it('reads gzip files', async () => {
    const store = await openTestStore();
    const summary = await ingestText(store, lines(record('g1'), record('g2'), '{oops'), 'old.jsonl.gz');
    expect(summary).toMatchObject({ files: 1, lines: 3, inserted: 2, quarantined: { invalid_json: 1 } });
  });
});

describe('file ingest: quarantine', () => {
  const cases: Array<[string, string]> = [
    ['invalid_json', '{"execution_id": "q1", '],
    ['invalid_value:record', '[1, 2, 3]'],
    ['missing_field:execution_id', JSON.stringify(record('x', { execution_id: undefined }))],
    ['invalid_value:execution_id', JSON.stringify(record('x'.repeat(129)))],
    ['missing_field:started_at', JSON.stringify(record('q', { started_at: undefined }))],
    ['invalid_value:started_at', JSON.stringify(record('q', { started_at: '2026-10-30 10:00:00' }))],
    ['missing_field:status', JSON.stringify(record('q', { status: null }))],
    ['invalid_value:status', JSON.stringify(record('q', { status: 'done' }))],
    ['missing_field:tool.name', JSON.stringify(record('q', { tool: { kind: 'connector' } }))],
    ['missing_field:user.id', JSON.stringify(record('q', { user: { email: 'a@b.c' } }))],
    ['invalid_value:user.id', JSON.stringify(record('q', { user: { id: 42 } }))],
    ['invalid_value:duration_ms', JSON.stringify(record('q', { duration_ms: -1 }))],
    ['invalid_value:tool.kind', JSON.stringify(record('q', { tool: { name: 't', kind: 'script' } }))],
    ['invalid_value:via_mcp', JSON.stringify(record('q', { via_mcp: 'yes' }))],
    ['invalid_value:tasks', JSON.stringify(record('q', { tasks: '3' }))],
    ['invalid_value:error.layer', JSON.stringify(record('q', { error: { type: 'x', layer: 'network' } }))],
    ['invalid_value:steps', JSON.stringify(record('q', { steps: { index: 0 } }))],
    ['missing_field:steps[1].name', JSON.stringify(record('q', { steps: [{ index: 0, name: 'a', status: 'succeeded' }, { index: 1, status: 'failed' }] }))],
    ['invalid_value:steps[0].index', JSON.stringify(record('q', { steps: [{ index: 0.5, name: 'a', status: 'succeeded' }] }))],
    ['invalid_value:steps[0].auth.mode', JSON.stringify(record('q', { steps: [{ index: 0, name: 'a', status: 'succeeded', auth: { mode: 'root' } }] }))],
    ['too_far_in_future', JSON.stringify(record('q', { started_at: '2026-11-02T00:00:01Z' }))],
  ];

  it.each(cases)('quarantines %s with its line number, and ingests the rest of the file', async (reason, bad) => {
    const store = await openTestStore();
    const summary = await ingestText(store, lines(record('ok1'), bad, record('ok2')));
    expect(summary.quarantined).toEqual({ [reason]: 1 });
    expect(summary.inserted).toBe(2);
    const rows = await store.read((db) => db.all<{ line_no: number; reason: string; raw: string }>('SELECT line_no::INTEGER AS line_no, reason, raw FROM quarantine'));
    // The stored reason starts with the code, then says what was expected (details vary by line).
    expect(rows).toEqual([{ line_no: 2, reason: expect.stringMatching(new RegExp(`^${reason.replace(/[[\].]/g, '\\$&')}(?: \\(|$)`)), raw: bad }]);
  });

  it('a quarantine reason says what was expected and what came, for every problem of the line', async () => {
    const store = await openTestStore();
    const bad = JSON.stringify(record('q', { status: 'error', user: { email: 'a@b.c' }, tasks: -2, steps: [{ index: 0.5, name: 'a', status: 'ok' }] }));
    const summary = await ingestText(store, lines(record('ok1'), bad));
    expect(summary.quarantined).toEqual({ 'invalid_value:status': 1 });
    const row = await store.read((db) => db.one<{ reason: string }>('SELECT reason FROM quarantine'));
    expect(row?.reason.split(' | ')).toEqual([
      'invalid_value:status (expected one of running, succeeded, failed, stopped, terminated; got "error")',
      'missing_field:user.id (expected a string)',
      'invalid_value:tasks (expected a number from 0 to 1000000000; got -2)',
      'invalid_value:steps[0].index (expected a whole number from 0 to 2147483647; got 0.5)',
      'invalid_value:steps[0].status (expected one of running, succeeded, failed, stopped, terminated; got "ok")',
    ]);
  });

  it('accepts a record just under 24 hours ahead, and quarantines a line over 1 MiB', async () => {
    const store = await openTestStore();
    const huge = JSON.stringify(record('big', { input: { blob: 'x'.repeat(1024 * 1024) } }));
    const summary = await ingestText(store, lines(record('soon', { started_at: '2026-11-01T23:59:00Z' }), huge));
    expect(summary).toMatchObject({ inserted: 1, quarantined: { line_too_long: 1 } });
  });

  it('does not quarantine the same bad line twice when a file is ingested again', async () => {
    const store = await openTestStore();
    const dir = tempDir();
    writeFileSync(join(dir, 'a.jsonl'), lines(record('ok'), '{bad'));
    await ingestFiles(store, [dir]);
    await ingestFiles(store, [dir]);
    expect(await count(store, 'SELECT count(*) FROM quarantine')).toBe(1);
  });
});

describe('file inputs', () => {
  it('expands directories and globs, and refuses a path that names nothing', async () => {
    const store = await openTestStore();
    const dir = tempDir();
    writeFileSync(join(dir, 'a.jsonl'), lines(record('a')));
    writeFileSync(join(dir, 'b.ndjson'), lines(record('b')));
    writeFileSync(join(dir, 'notes.txt'), 'not a log');
    expect(await ingestFiles(store, [dir])).toMatchObject({ files: 2, inserted: 2 });
    expect(await ingestFiles(store, [join(dir, '*.ndjson')])).toMatchObject({ files: 1 });
    await expect(ingestFiles(store, [join(dir, 'missing.jsonl')])).rejects.toThrow(/No such file or directory/);
    await expect(ingestFiles(store, [join(dir, '*.json')])).rejects.toThrow(/No log files/);
  });
});
