import { appendFileSync, mkdirSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogTailer } from '../../src/ingest/tailer.js';
import { Store } from '../../src/store/store.js';
import { fixedClock } from '../../src/clock.js';
import { count, lines, openTestStore, record, tempDir, TEST_NOW } from '../helpers.js';

const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => record(`e${from + i}`));

async function executions(store: Store) {
  return count(store, 'SELECT count(*) FROM executions');
}

/** Polls until `check` passes; the watcher is asynchronous by nature. */
async function eventually(check: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('LogTailer', () => {
  it('ingests lines appended to a watched file while running (chokidar events)', async () => {
    const store = await openTestStore();
    const dir = tempDir();
    const file = join(dir, 'live.jsonl');
    writeFileSync(file, lines(...ids(1, 3)));
    const tailer = new LogTailer(store, { dirs: [dir], sweepIntervalMs: 60_000 });
    await tailer.start();
    try {
      expect(await executions(store)).toBe(3);
      appendFileSync(file, lines(...ids(4, 6)));
      await eventually(async () => expect(await executions(store)).toBe(6), 2000);
      writeFileSync(join(dir, 'second.ndjson'), lines(...ids(7, 8)));
      await eventually(async () => expect(await executions(store)).toBe(8), 2000);
    } finally {
      await tailer.stop();
    }
  });

  it('a watched directory that does not exist yet is read once it is created', async () => {
    const store = await openTestStore();
    const dir = join(tempDir(), 'later');
    const tailer = new LogTailer(store, { dirs: [dir], sweepIntervalMs: 100 });
    await tailer.start();
    try {
      expect(await executions(store)).toBe(0);
      mkdirSync(dir);
      writeFileSync(join(dir, 'gateway.jsonl'), lines(...ids(1, 4)));
      await eventually(async () => expect(await executions(store)).toBe(4), 4000);
    } finally {
      await tailer.stop();
    }
  });

  it('gathers a busy writer\'s appends into few transactions, losing none', async () => {
    const store = await openTestStore();
    const dir = tempDir();
    const file = join(dir, 'busy.jsonl');
    writeFileSync(file, lines(...ids(1, 1)));
    let transactions = 0;
    const tailer = new LogTailer(store, { dirs: [dir], sweepIntervalMs: 1000, batchWindowMs: 1000, onBatch: () => transactions++ });
    await tailer.start();
    try {
      transactions = 0;
      for (let i = 0; i < 20; i++) {
        appendFileSync(file, lines(...ids(2 + i * 5, 6 + i * 5)));
        await new Promise((r) => setTimeout(r, 10));
      }
      await eventually(async () => expect(await executions(store)).toBe(101), 5000);
      // A commit is visible before its onBatch callback runs: stopping waits for both.
      await tailer.stop();
      // 20 appends within well under a second, read at most once a second: a read per event
      // would be a transaction per event (7 or more here with no window).
      expect(transactions).toBeGreaterThan(0);
      expect(transactions).toBeLessThanOrEqual(3);
    } finally {
      await tailer.stop();
    }
  });

  it('waits for a last line without its newline, then reads it once complete', async () => {
    const store = await openTestStore();
    const dir = tempDir();
    const file = join(dir, 'a.jsonl');
    const third = JSON.stringify(record('e3'));
    writeFileSync(file, lines(...ids(1, 2)) + third.slice(0, 30));
    const tailer = new LogTailer(store, { dirs: [dir] });
    await tailer.drainAll();
    expect(await executions(store)).toBe(2);
    expect(await count(store, 'SELECT count(*) FROM quarantine')).toBe(0);
    appendFileSync(file, `${third.slice(30)}\n`);
    await tailer.drainAll();
    expect(await executions(store)).toBe(3);
    expect(await count(store, 'SELECT count(*) FROM quarantine')).toBe(0);
  });

  it('survives rename rotation: the rotated file is finished, the new one read from its start', async () => {
    const store = await openTestStore();
    const dir = tempDir();
    const file = join(dir, 'app.jsonl');
    writeFileSync(file, lines(...ids(1, 3)));
    const tailer = new LogTailer(store, { dirs: [dir] });
    await tailer.drainAll();
    appendFileSync(file, lines(...ids(4, 5))); // written just before rotation, not read yet
    renameSync(file, `${file}.1`);
    writeFileSync(file, lines(...ids(6, 7)));
    await tailer.drainAll();
    expect(await executions(store)).toBe(7);
    // Nothing was read twice: every valid line so far was new.
    expect(await count(store, "SELECT count(*) FROM executions WHERE source LIKE '%app.jsonl.1'")).toBe(2);
  });

  it('survives copytruncate: a file that shrinks is read again from 0 without double counting', async () => {
    const store = await openTestStore();
    const dir = tempDir();
    const file = join(dir, 'app.jsonl');
    writeFileSync(file, lines(...ids(1, 4)));
    const tailer = new LogTailer(store, { dirs: [dir] });
    await tailer.drainAll();
    truncateSync(file, 0);
    writeFileSync(file, lines(...ids(5, 6)));
    await tailer.drainAll();
    expect(await executions(store)).toBe(6);
    // Truncated and refilled with the same first line as before: still no double count.
    truncateSync(file, 0);
    writeFileSync(file, lines(...ids(5, 5)));
    await tailer.drainAll();
    appendFileSync(file, lines(...ids(6, 7)));
    await tailer.drainAll();
    expect(await executions(store)).toBe(7);
  });

  it('resumes from its checkpoint after a restart, neither re-reading nor skipping lines', async () => {
    const dir = tempDir();
    const dbPath = join(tempDir(), 'restart.duckdb');
    const file = join(dir, 'app.jsonl');
    writeFileSync(file, lines(...ids(1, 5), '{broken'));
    let store = await Store.open({ path: dbPath, clock: fixedClock(new Date(TEST_NOW)) });
    await new LogTailer(store, { dirs: [dir] }).drainAll();
    await store.close();

    appendFileSync(file, lines(...ids(6, 8)));
    store = await openTestStore(TEST_NOW, dbPath);
    const batches: number[] = [];
    await new LogTailer(store, { dirs: [dir], onBatch: (_, r) => batches.push(r.lines) }).drainAll();
    expect(batches).toEqual([3]); // only the new lines were read
    expect(await executions(store)).toBe(8);
    expect(await count(store, 'SELECT count(*) FROM quarantine')).toBe(1);
    const checkpoint = await store.read((db) => db.one<{ line_no: number; byte_offset: number }>('SELECT line_no::INTEGER AS line_no, byte_offset::INTEGER AS byte_offset FROM ingest_checkpoints'));
    expect(checkpoint).toEqual({ line_no: 9, byte_offset: Buffer.byteLength(lines(...ids(1, 5), '{broken') + lines(...ids(6, 8))) });
  });

  it('a failed batch leaves the checkpoint where it was, so the lines are read again later', async () => {
    const store = await openTestStore();
    const dir = tempDir();
    const file = join(dir, 'app.jsonl');
    writeFileSync(file, lines(...ids(1, 2)));
    const errors: unknown[] = [];
    const tailer = new LogTailer(store, { dirs: [dir], onError: (_, e) => errors.push(e) });
    await tailer.drainAll();
    appendFileSync(file, lines(...ids(3, 4)));
    // Make the next write fail inside the transaction: the rows and the checkpoint roll back together.
    await store.write((db) => db.run('ALTER TABLE executions RENAME TO executions_away'));
    await tailer.drainAll();
    expect(errors).toHaveLength(1);
    await store.write((db) => db.run('ALTER TABLE executions_away RENAME TO executions'));
    await tailer.drainAll();
    expect(await executions(store)).toBe(4);
  });
});
