import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { ClickHouseStore } from '../../src/store/clickhouse/store.js';

/**
 * chdb runs one engine per process, on one data directory: every test of a file shares it, each
 * in a database of its own. (vitest runs each test file in a process of its own.)
 */
const dataDir = mkdtempSync(join(tmpdir(), 'blackbox-chdb-'));
let databases = 0;
const open: ClickHouseStore[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

/** A ClickHouse store on chdb in a fresh database, closed after the test. */
export async function openClickHouseTestStore(now: string, database = `t${process.pid}_${++databases}`): Promise<ClickHouseStore> {
  const store = await ClickHouseStore.open({ engine: 'chdb', path: dataDir, database }, fixedClock(new Date(now)));
  open.push(store);
  return store;
}
