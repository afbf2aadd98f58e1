import { describe, expect, it } from 'vitest';
import { clickhouseAnalytics } from '../../src/analytics/clickhouse/index.js';
import { duckdbAnalytics } from '../../src/analytics/duckdb/index.js';
import { listExecutions } from '../../src/analytics/executions.js';
import { resolveRange } from '../../src/analytics/time-range.js';
import { traceExecution } from '../../src/analytics/trace.js';
import { unusedTools } from '../../src/analytics/unused.js';
import { usageSummary } from '../../src/analytics/usage.js';
import { whoDroveSpike } from '../../src/analytics/spike.js';
import { fixedClock } from '../../src/clock.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { blockFromText } from '../../src/ingest/lines.js';
import { generateLines } from '../../src/sample/generate.js';
import { SAMPLE_ANCHOR } from '../../src/sample/fleet.js';
import { importCatalog, recordToolLists } from '../../src/store/catalog.js';
import { copyFromDuckDb, copyVerified } from '../../src/store/clickhouse/copy-from-duckdb.js';
import { openTestStore } from '../helpers.js';
import { openClickHouseTestStore } from './helpers.js';
import { addMetricPoints } from '../../src/store/metrics.js';

describe('migrate: a DuckDB database copied into ClickHouse', () => {
  it('copies executions with their steps, the quarantine and the catalog; the counts prove it and the answers stay the same', async () => {
    const duck = await openTestStore(SAMPLE_ANCHOR);
    const text = [...generateLines({ days: 20, perWeekday: 150, seed: 3, spike: true, runningFirstRate: 0.05, repeatRate: 0.03, badLineRate: 0.01 })].join('\n');
    await ingestLines(duck, blockFromText(text), 'sample.jsonl');
    await duck.write((db) => importCatalog(db, [{ name: 'never_tool', server: 'eng-gateway' }]));
    const list = (seen: string, description: string) => ({ seen_at: seen, server: 'srv', tools: [{ name: 'a', description }, { name: 'b' }] });
    await duck.write((db) => recordToolLists(db, [list('2026-10-20T10:00:00Z', 'old'), list('2026-10-21T10:00:00Z', 'old'), list('2026-10-22T10:00:00Z', 'new')]));
    const minute = (m: string, count: number, failed = false) => ({
      series: `s${m}${failed}`, cumulative: false, start_ns: '0', time_ns: '0', minute: `2026-10-2${m}T10:00:00.000Z`, side: 'server' as const, server: 'helpdesk', tool: 'zendesk_get', failed, count, sum_ms: count * 100,
    });
    await duck.write((db) => addMetricPoints(db, [minute('1', 3), minute('2', 4), minute('2', 1, true)], new Date(SAMPLE_ANCHOR)));
    const house = await openClickHouseTestStore(SAMPLE_ANCHOR);

    const progress: number[] = [];
    const report = await copyFromDuckDb(duck, house.ch, { onProgress: (copied) => progress.push(copied) });
    expect(copyVerified(report)).toBe(true);
    expect(report.executions.duckdb).toBeGreaterThan(2000);
    expect(report.quarantine.clickhouse).toBeGreaterThan(0);
    expect(report.catalog_tools).toBe(3);
    expect(report.metric_calls).toEqual({ duckdb: 8, clickhouse: 8 });
    expect(progress.at(-1)).toBe(report.executions.duckdb);

    const d = duckdbAnalytics((task) => duck.read(task));
    const h = clickhouseAnalytics(house.ch);
    const range = resolveRange({ window: '14d' }, fixedClock(new Date(SAMPLE_ANCHOR)));
    expect(await usageSummary(h, { range, filters: {} })).toEqual(await usageSummary(d, { range, filters: {} }));
    expect(await h.metricsUsage(range, {})).toEqual(await d.metricsUsage(range, {}));
    expect((await h.metricsUsage(range, {}))?.calls).toBe(8);
    expect(await whoDroveSpike(h, { range, filters: {}, limit: 3 })).toEqual(await whoDroveSpike(d, { range, filters: {}, limit: 3 }));
    expect(await unusedTools(h, { range, limit: 10 })).toEqual(await unusedTools(d, { range, limit: 10 }));
    expect(await h.catalog.toolLists(10)).toEqual(await d.catalog.toolLists(10));
    expect((await h.catalog.toolLists(10))[0]).toMatchObject({ server: 'srv', versions: 2, changed_tools: [{ name: 'a' }] });
    const page = await listExecutions(d, { range, filters: {}, limit: 200 });
    const traced = page.executions.filter((e) => e.step_count > 0 || e.error_type).slice(0, 40);
    expect(traced.some((e) => e.step_count > 1)).toBe(true);
    for (const e of traced) expect(await traceExecution(h, e.execution_id)).toEqual(await traceExecution(d, e.execution_id));

    // Into a database that holds data already: refused, since the counts could not prove the copy.
    await expect(copyFromDuckDb(duck, house.ch)).rejects.toThrow(/already holds .* execution rows: migrate copies into an empty ClickHouse database/);
  });
});
