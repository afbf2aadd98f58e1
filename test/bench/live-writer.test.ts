import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blockFromText } from '../../src/ingest/lines.js';
import { prepareBatch } from '../../src/ingest/prepare.js';
import { tempDir } from '../helpers.js';

describe('the under-load log writer', () => {
  it('appends valid executions a tenth of its rate at a time, with ids under the prefix it is given', async () => {
    const file = join(tempDir(), 'live.jsonl');
    writeFileSync(file, '');
    const writer = spawn(process.execPath, ['dist-bench/bench/live-writer.js', file, '1000', '2026-11-01T00:00:00Z', 'live2'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => writer.once('exit', resolve));
    // Waits for three ticks of 100 lines rather than a fixed time: the machine may be slow.
    while (readFileSync(file, 'utf8').split('\n').length <= 300) await new Promise((r) => setTimeout(r, 50));
    writer.kill('SIGTERM');
    await exited;
    const text = readFileSync(file, 'utf8');
    const ids = text.trimEnd().split('\n').map((line) => JSON.parse(line).execution_id as string);
    expect(ids.length % 100).toBe(0);
    expect(ids.slice(0, 3)).toEqual(['live2_0', 'live2_1', 'live2_2']);
    expect(new Set(ids).size).toBe(ids.length);
    const batch = prepareBatch(blockFromText(text.trimEnd()), new Date('2026-11-01T00:00:00Z'));
    expect(batch.rejects).toEqual([]);
    expect(batch.valid).toBe(ids.length);
  });
});
