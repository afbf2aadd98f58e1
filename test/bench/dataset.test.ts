import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withRandomIds } from '../../bench/dataset.js';
import { lines, record, tempDir } from '../helpers.js';

describe('bench data with random ids', () => {
  it('gives every execution one UUIDv4-shaped id, kept by its repeats, and leaves the rest of each line alone', async () => {
    const dir = tempDir();
    const source = join(dir, 'fleet.jsonl');
    const dest = join(dir, 'fleet-uuid.jsonl');
    writeFileSync(source, lines(record('ex_1', { status: 'running', ended_at: undefined }), record('ex_1'), record('ex_2'), '{"broken": 1'));
    await withRandomIds(source, dest);
    const [running, final, other, broken] = readFileSync(dest, 'utf8').trimEnd().split('\n');
    const ids = [running, final, other].map((l) => JSON.parse(l!).execution_id as string);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
    expect({ ...JSON.parse(final!), execution_id: 'ex_1' }).toEqual(JSON.parse(readFileSync(source, 'utf8').split('\n')[1]!));
    expect(broken).toBe('{"broken": 1');
  });
});
