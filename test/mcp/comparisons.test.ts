import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingestFiles } from '../../src/ingest/files.js';
import { blockFromText } from '../../src/ingest/lines.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { SAMPLE_ANCHOR } from '../../src/sample/fleet.js';
import { openTestStore, record } from '../helpers.js';
import { call, connect, text } from './harness.js';

describe('honest comparisons', () => {
  it('on the sample fleet: a previous window that reaches before the oldest data gives no percentage, only the caveat', async () => {
    const store = await openTestStore(SAMPLE_ANCHOR);
    await ingestFiles(store, [join(process.cwd(), 'sample-logs')]);
    const client = await connect(store);
    const month = await call(client, 'usage_summary', { window: '30d' });
    expect(month.structuredContent.change.percent).toBeNull();
    expect(month.structuredContent.change.caveat).toMatch(/^The previous window \(\S+ to \S+\) starts before the oldest data \(2026-09-/);
    expect(text(month)).toMatch(/no change given: The previous window .* starts before the oldest data/);
    expect(text(month)).not.toMatch(/% vs previous window/);

    const week = await call(client, 'usage_summary', { window: '7d' });
    expect(typeof week.structuredContent.change.percent).toBe('number');
    expect(week.structuredContent.change.caveat).toBeUndefined();

    const cost = await call(client, 'cost_by_user', { window: '30d' });
    expect(cost.structuredContent.previous_window_caveat).toMatch(/starts before the oldest data/);
    expect(text(cost)).toMatch(/no change given/);
    // Money to the cent, and how much of the window it covers.
    expect(text(cost)).toMatch(/ and \$[\d,]+\.\d{2} \(only \d+\.\d% of the [\d,]+ executions carry a cost_usd; the rest are not in it\)/);
    const share = cost.structuredContent.share_with_cost_usd;
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThan(1);
  });

  it('a previous window in a gap of the data gives no percentage either', async () => {
    const store = await openTestStore('2026-11-01T00:00:00Z');
    const records = [
      record('early', { started_at: '2026-10-01T10:00:00Z', ended_at: '2026-10-01T10:00:01Z' }),
      record('late_1', { started_at: '2026-10-29T10:00:00Z', ended_at: '2026-10-29T10:00:01Z' }),
      record('late_2', { started_at: '2026-10-30T10:00:00Z', ended_at: '2026-10-30T10:00:01Z' }),
    ];
    await ingestLines(store, blockFromText(records.map((r) => JSON.stringify(r)).join('\n')), 'gap');
    const result = await call(await connect(store), 'usage_summary', { window: '3d' });
    expect(result.structuredContent.change).toMatchObject({ delta: 2, percent: null, caveat: expect.stringMatching(/holds no data at all \(a gap in the store's data\)/) });
  });
});
