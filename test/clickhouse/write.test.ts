import { describe, expect, it } from 'vitest';
import { ingestLines } from '../../src/ingest/batch.js';
import { blockFromText } from '../../src/ingest/lines.js';
import { ClickHouseStore } from '../../src/store/clickhouse/store.js';
import { executionVersion } from '../../src/store/clickhouse/write.js';
import type { Store } from '../../src/store/store.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ingestFilesInto } from '../../src/ingest/files.js';
import { lines, openTestStore, record, tempDir, TEST_NOW } from '../helpers.js';
import { openClickHouseTestStore } from './helpers.js';

interface Stored {
  id: string;
  status: string;
  ended: string | null;
  error: string | null;
  steps: number;
}

async function clickhouseRows(store: ClickHouseStore): Promise<Stored[]> {
  return store.ch.all<Stored>(
    `SELECT execution_id AS id, status, if(ended_at IS NULL, NULL, formatDateTime(ended_at, '%Y-%m-%dT%H:%i:%SZ')) AS ended, error_type AS error, step_count AS steps
     FROM ${store.ch.t('executions')} FINAL ORDER BY id`,
  );
}

async function duckRows(store: Store): Promise<Stored[]> {
  return store.read((db) =>
    db.all<Stored>(`SELECT execution_id AS id, status, strftime(ended_at, '%Y-%m-%dT%H:%M:%SZ') AS ended, error_type AS error, step_count::INTEGER AS steps FROM executions ORDER BY id`),
  );
}

const running = (id: string) => record(id, { status: 'running', ended_at: undefined });
const final = (id: string, endedAt: string, status = 'succeeded', extra = {}) => record(id, { status, ended_at: endedAt, ...extra });
const step = (index: number, status: string) => ({ index, name: `step ${index}`, status, connector: 'salesforce' });

describe('ClickHouse writes: the log format\'s delivery rules', () => {
  it('repeats, running then final, final then running, and the later-ending record win as in DuckDB, batch by batch with the same counts', async () => {
    const duck = await openTestStore();
    const house = await openClickHouseTestStore(TEST_NOW);
    const batches = [
      lines(running('a'), final('b', '2026-10-30T10:00:05Z'), final('c', '2026-10-30T10:00:05Z', 'failed', { error: { type: 'http_500' } })),
      // A repeat, a final for a (with steps), b's later end, a running b that arrives late.
      lines(running('a'), final('a', '2026-10-30T10:00:09Z', 'failed', { steps: [step(0, 'succeeded'), step(1, 'failed')] }), final('b', '2026-10-30T10:00:07Z', 'stopped'), running('b')),
      // An earlier-ending terminal record for c loses; a fresh id; a running a after its final.
      lines(final('c', '2026-10-30T10:00:03Z'), running('d'), running('a')),
      // Out of order within a batch: the final first. Times with an offset and microseconds are stored in UTC.
      lines(final('e', '2026-10-30T10:00:04Z'), running('e'), final('e', '2026-10-30T10:00:04Z'),
        record('f', { started_at: '2026-10-30T11:00:00.123456+01:00', ended_at: '2026-10-30T11:00:09.5+01:00' })),
    ];
    for (const text of batches) {
      const expected = await ingestLines(duck, blockFromText(text), 'batch');
      const result = await house.ingestLines(blockFromText(text), 'batch');
      expect(result).toEqual({ ...expected, deferred: 0 });
    }
    expect(await clickhouseRows(house)).toEqual(await duckRows(duck));
    const rows = await clickhouseRows(house);
    expect(rows.find((r) => r.id === 'a')).toEqual({ id: 'a', status: 'failed', ended: '2026-10-30T10:00:09Z', error: null, steps: 2 });
    expect(rows.find((r) => r.id === 'b')?.status).toBe('stopped');
    expect(rows.find((r) => r.id === 'c')).toMatchObject({ status: 'failed', error: 'http_500' });
    expect(rows.find((r) => r.id === 'f')).toMatchObject({ ended: '2026-10-30T10:00:09Z' });
    const f = await house.ch.one<{ started: string; duration: number }>(
      `SELECT toString(started_at) AS started, duration_ms AS duration FROM ${house.ch.t('executions')} FINAL WHERE execution_id = 'f'`,
    );
    expect(f).toEqual({ started: '2026-10-30 10:00:00.123456', duration: 9377 });
    // Replaced copies stay as row versions until ClickHouse merges; FINAL and the answers see one per id.
    const raw = await house.ch.one<{ n: number }>(`SELECT count() AS n FROM ${house.ch.t('executions')}`);
    expect(raw!.n).toBeGreaterThan(rows.length);
  });

  it('two writers sending the same ids in opposite orders, at the same time, end with what one writer would store', async () => {
    const duck = await openTestStore();
    const database = `w${process.pid}`;
    const first = await openClickHouseTestStore(TEST_NOW, database);
    const second = await openClickHouseTestStore(TEST_NOW, database);
    const records = Array.from({ length: 300 }, (_, i) => [
      running(`x${i}`),
      final(`x${i}`, `2026-10-30T10:00:${String(10 + (i % 40)).padStart(2, '0')}Z`, i % 3 === 0 ? 'failed' : 'succeeded'),
      final(`x${i}`, '2026-10-30T10:00:05Z', 'terminated'),
    ]).flat();
    const forward = lines(...records);
    const backward = lines(...[...records].reverse());
    await Promise.all([first.ingestLines(blockFromText(forward), 'writer-1'), second.ingestLines(blockFromText(backward), 'writer-2')]);
    await ingestLines(duck, blockFromText(forward), 'one');
    expect(await clickhouseRows(first)).toEqual(await duckRows(duck));
    const statuses = new Set((await clickhouseRows(second)).map((r) => r.status));
    expect(statuses).toEqual(new Set(['failed', 'succeeded']));
    // Once ClickHouse merges the parts, the replaced versions are gone from the table itself.
    await first.ch.command(`OPTIMIZE TABLE ${first.ch.t('executions')} FINAL`);
    expect((await first.ch.one<{ n: number }>(`SELECT count() AS n FROM ${first.ch.t('executions')}`))!.n).toBe(300);
  });

  it('a bad line is quarantined with its reason, and the good lines of its batch are stored', async () => {
    const house = await openClickHouseTestStore(TEST_NOW);
    // Times far from now are values the format accepts: each engine must hold them, not lose the batch.
    const text = lines(record('ok1'), '{"execution_id": "broken"', record('ok2', { status: 'exploded' }), record('ok3'),
      record('ancient', { started_at: '0001-01-01T00:00:00Z', ended_at: '0001-01-01T00:00:01Z' }), record('old', { started_at: '1850-06-01T12:00:00.5Z', ended_at: undefined, status: 'running' }));
    const result = await house.ingestLines(blockFromText(text), 'file.jsonl');
    expect(result).toEqual({ ...(await ingestLines(await openTestStore(), blockFromText(text), 'file.jsonl')), deferred: 0 });
    expect(result).toMatchObject({ inserted: 4, lines: 6 });
    expect(await house.ch.all(`SELECT execution_id AS id, toString(started_at) AS at FROM ${house.ch.t('executions')} FINAL WHERE execution_id IN ('ancient', 'old') ORDER BY id`)).toEqual([
      { id: 'ancient', at: '0001-01-01 00:00:00.000000' },
      { id: 'old', at: '1850-06-01 12:00:00.500000' },
    ]);
    expect(Object.values(result.quarantined).reduce((a, b) => a + b, 0)).toBe(2);
    expect(result.rejected.map((r) => r.lineNo)).toEqual([2, 3]);
    const quarantine = await house.ch.all<{ line_no: number; reason: string; source: string }>(
      `SELECT line_no, reason, source FROM ${house.ch.t('quarantine')} FINAL ORDER BY line_no`,
    );
    expect(quarantine.map((q) => [q.source, q.line_no])).toEqual([['file.jsonl', 2], ['file.jsonl', 3]]);
    expect(quarantine[1]!.reason).toMatch(/status/);
    // The same file read again quarantines nothing twice.
    await house.ingestLines(blockFromText(text), 'file.jsonl');
    expect((await house.ch.one<{ n: number }>(`SELECT count() AS n FROM ${house.ch.t('quarantine')} FINAL`))!.n).toBe(2);
  });

  it('a file whose inserts fail is reported as failed, and ingests in full once the table is back', async () => {
    const house = await openClickHouseTestStore(TEST_NOW);
    const dir = tempDir();
    writeFileSync(join(dir, 'a.jsonl'), lines(...Array.from({ length: 200 }, (_, i) => record(`a${i}`))));
    await house.ch.command(`RENAME TABLE ${house.ch.t('executions')} TO ${house.ch.t('executions_away')}`);
    const failed = await ingestFilesInto(house, [join(dir, 'a.jsonl')], { batchBytes: 2000 });
    expect(failed.failed).toEqual([{ path: join(dir, 'a.jsonl'), error: expect.stringMatching(/^ClickHouse at chdb:.* failed: UNKNOWN_TABLE/) }]);
    await house.ch.command(`RENAME TABLE ${house.ch.t('executions_away')} TO ${house.ch.t('executions')}`);
    const again = await ingestFilesInto(house, [join(dir, 'a.jsonl')], { batchBytes: 2000 });
    expect(again).toMatchObject({ inserted: 200, failed: [] });
  });

  it('the version: terminal beats running whatever the times, a later end beats an earlier one, ties depend on content only', () => {
    const v = executionVersion;
    expect(v('succeeded', '2020-01-01T00:00:00Z', 'a')).toBeGreaterThan(v('running', '2030-01-01T00:00:00Z', 'a'));
    expect(v('failed', '2026-10-30T10:00:00.000002Z', 'a')).toBeGreaterThan(v('failed', '2026-10-30T10:00:00.000001Z', 'z'));
    expect(v('failed', '2026-10-30T11:00:00+01:00', 'a') >> 10n).toBe(v('failed', '2026-10-30T10:00:00Z', 'b') >> 10n);
    expect(v('stopped', '2026-10-30T10:00:00Z', 'same')).toBe(v('stopped', '2026-10-30T10:00:00Z', 'same'));
    expect(v('running', undefined, 'x') < 1n << 62n).toBe(true);
  });
});
