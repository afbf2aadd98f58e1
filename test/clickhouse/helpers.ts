import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import type { AnalyticsBackend } from '../../src/analytics/backend.js';
import { clickhouseAnalytics } from '../../src/analytics/clickhouse/index.js';
import { duckdbAnalytics } from '../../src/analytics/duckdb/index.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { blockFromRecords, blockFromText } from '../../src/ingest/lines.js';
import { generateLines } from '../../src/sample/generate.js';
import { refreshRollup } from '../../src/store/clickhouse/rollup.js';
import type { Store } from '../../src/store/store.js';
import type { Filters } from '../../src/analytics/filters.js';
import { resolveRange, type Bucket, type TimeRange } from '../../src/analytics/time-range.js';
import { openTestStore } from '../helpers.js';
import { AuditLog } from '../../src/access/audit.js';
import { ClickHouseAuditStorage } from '../../src/store/clickhouse/audit.js';
import { incidentFleet, INCIDENT_NOW, toolLists, UNMASKS } from '../fixtures/incident-fleet.js';
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

export interface Pair {
  store: Store;
  duck: AnalyticsBackend;
  house: AnalyticsBackend & { addCatalogTools: ClickHouseStore['addCatalogTools'] };
}

/**
 * The fixture in two parts: ClickHouse's rollup is recomputed after the first, so its answers
 * mix up-to-date hours (from the rollup), hours the second part marked (replacements of the
 * first part's records included) and partial hours, the last two counted from executions.
 */
export async function loadBoth(text: string, now: string): Promise<Pair> {
  const store = await openTestStore(now);
  const ch = await openClickHouseTestStore(now);
  const lines = text.split('\n');
  const cut = Math.floor(lines.length * 0.7);
  for (const [i, part] of [lines.slice(0, cut), lines.slice(cut)].entries()) {
    const duckResult = await ingestLines(store, blockFromText(part.join('\n')), `fixture-${i}`);
    const houseResult = await ch.ingestLines(blockFromText(part.join('\n')), `fixture-${i}`);
    // The same lines stored, replaced and quarantined: the write paths agree before any read.
    expect(houseResult).toEqual({ ...duckResult, deferred: 0 });
    if (i === 0) expect((await refreshRollup(ch.ch, { settleMs: 0 })).hours).toBeGreaterThan(0);
  }
  return { store, duck: duckdbAnalytics((task) => store.read(task)), house: { ...clickhouseAnalytics(ch.ch), addCatalogTools: (tools) => ch.addCatalogTools(tools) } };
}

/** The sample fleet with what the format allows: repeats, running-then-final pairs, malformed lines, a spike. */
export const sampleText = () =>
  [...generateLines({ days: 30, perWeekday: 120, seed: 11, spike: true, runningFirstRate: 0.05, repeatRate: 0.03, badLineRate: 0.01 })].join('\n');

/**
 * The incident history (every kind of alert planted in it), its tool lists and unmasks, in both
 * engines; ClickHouse's rollup recomputed halfway, so its used hours mix rollup and raw reads.
 */
export async function loadIncidents(): Promise<{ store: Store; ch: ClickHouseStore }> {
  const store = await openTestStore(INCIDENT_NOW);
  const ch = await openClickHouseTestStore(INCIDENT_NOW);
  const records = [...toolLists(), ...incidentFleet()];
  const cut = Math.floor(records.length / 2);
  for (const part of [records.slice(0, cut), records.slice(cut)]) {
    await ingestLines(store, blockFromRecords(part), 'fleet');
    await ch.ingestLines(blockFromRecords(part), 'fleet');
    await refreshRollup(ch.ch, { settleMs: 0 });
  }
  // One instance's chain on ClickHouse, as DuckDB's one chain.
  const storage = new ClickHouseAuditStorage(ch.ch, 'host-a');
  for (const at of UNMASKS) {
    const event = { action: 'unmask' as const, target: 'ex_1', reason: 'INC-1 checking the payload' };
    await new AuditLog(store, { clock: fixedClock(new Date(at)) }).record({ id: 'u_root', role: 'admin' }, event);
    await new AuditLog(storage, { clock: fixedClock(new Date(at)) }).record({ id: 'u_root', role: 'admin' }, event);
  }
  return { store, ch };
}

/** The windows every conformance question is asked over. */
export const conformanceRanges = (now: string): Array<{ name: string; range: TimeRange; bucket?: Bucket }> => {
  const clock = fixedClock(new Date(now));
  return [
    { name: '7d', range: resolveRange({ window: '7d' }, clock) },
    { name: '24h', range: resolveRange({ window: '24h' }, clock) },
    { name: '30d by week', range: resolveRange({ window: '30d' }, clock), bucket: 'week' },
    { name: '90d by month (before the oldest data)', range: resolveRange({ window: '90d' }, clock), bucket: 'month' },
    // Not on the hour at either end: partial hours count exactly.
    { name: 'an odd span', range: { from: new Date(Date.parse(now) - 3 * 86_400_000 - 1_234_567), to: new Date(Date.parse(now) - 7_654_321) } },
    { name: 'empty', range: { from: new Date('2020-01-01T00:00:00Z'), to: new Date('2020-01-02T00:00:00Z') } },
  ];
};

export const FILTERS: Filters[] = [{}, { team: 'eng' }, { status: 'failed' }, { via_mcp: true, client: 'cursor' }, { user: 'nobody' }];
