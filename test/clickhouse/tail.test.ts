import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BatchResult } from '../../src/ingest/batch.js';
import { LogTailer } from '../../src/ingest/tailer.js';
import { clickhouseTailSink } from '../../src/store/clickhouse/checkpoints.js';
import type { ClickHouseStore } from '../../src/store/clickhouse/store.js';
import { lines, record, tempDir, TEST_NOW } from '../helpers.js';
import { openClickHouseTestStore } from './helpers.js';
import { refreshRollup } from '../../src/store/clickhouse/rollup.js';
import { clickhouseAnalytics } from '../../src/analytics/clickhouse/index.js';

const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => record(`e${from + i}`));

async function stored(store: ClickHouseStore): Promise<number> {
  return (await store.ch.one<{ n: number }>(`SELECT count() AS n FROM ${store.ch.t('executions')} FINAL`))!.n;
}

/** One pass over the directory as the instance `instance`; what each batch stored. */
async function pass(store: ClickHouseStore, instance: string, dir: string): Promise<BatchResult[]> {
  const batches: BatchResult[] = [];
  await new LogTailer(clickhouseTailSink(store, instance), { dirs: [dir], onBatch: (_, r) => batches.push(r) }).drainAll();
  return batches;
}

const sum = (batches: BatchResult[], key: 'inserted' | 'duplicates' | 'lines') => batches.reduce((n, b) => n + b[key], 0);

describe('watched files on ClickHouse: read positions per instance', () => {
  it('an instance resumes where it stopped, after appends, restarts and a rename rotation; another instance keeps its own positions', async () => {
    const store = await openClickHouseTestStore(TEST_NOW);
    const dir = tempDir();
    const file = join(dir, 'gateway.jsonl');
    writeFileSync(file, lines(...ids(1, 3)));
    expect(sum(await pass(store, 'host-a', dir), 'inserted')).toBe(3);
    appendFileSync(file, lines(...ids(4, 5)));
    // A restart (a new tailer, same instance): only the appended lines are read.
    const appended = await pass(store, 'host-a', dir);
    expect([sum(appended, 'lines'), sum(appended, 'inserted')]).toEqual([2, 2]);
    expect(await pass(store, 'host-a', dir)).toEqual([]);
    // Rotated by rename, a new file under the old name: the renamed one has nothing new, the new one is read.
    renameSync(file, `${file}.1`);
    writeFileSync(file, lines(...ids(6, 7)));
    const rotated = await pass(store, 'host-a', dir);
    expect([sum(rotated, 'lines'), sum(rotated, 'inserted')]).toEqual([2, 2]);
    expect(await stored(store)).toBe(7);
    // Another instance has no positions yet: it reads both files from the start, and stores nothing twice.
    const other = await pass(store, 'host-b', dir);
    expect([sum(other, 'lines'), sum(other, 'inserted'), sum(other, 'duplicates')]).toEqual([7, 0, 7]);
    expect(await stored(store)).toBe(7);
    expect(await pass(store, 'host-b', dir)).toEqual([]);
  });

  it('a bad line in a watched file is quarantined and its neighbours stored; a time the format allows far back is stored and counted by the rollup', async () => {
    const store = await openClickHouseTestStore(TEST_NOW);
    const dir = tempDir();
    writeFileSync(join(dir, 'gateway.jsonl'), lines(record('ok1'), '{"execution_id": "broken"', record('ancient', { started_at: '0001-01-01T00:00:00Z', ended_at: '0001-01-01T00:00:01Z' }), record('ok2')));
    const batches = await pass(store, 'host-a', dir);
    expect(sum(batches, 'inserted')).toBe(3);
    expect(batches.flatMap((b) => b.rejected.map((r) => r.lineNo))).toEqual([2]);
    expect(await pass(store, 'host-a', dir)).toEqual([]);
    expect(await refreshRollup(store.ch, { settleMs: 0 })).toMatchObject({ hours: 2, days: 2 });
    expect(await clickhouseAnalytics(store.ch).extent()).toMatchObject({ executions: 3, oldest_started_at: '0001-01-01T00:00:00.000Z', quarantined_lines: 1 });
  });
});
