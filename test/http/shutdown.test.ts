import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { fixedClock } from '../../src/clock.js';
import { record, tempDir, TEST_NOW } from '../helpers.js';

describe('serve --http', () => {
  it('on SIGTERM finishes the requests it accepted, commits their batches, and exits 0', async () => {
    const db = join(tempDir(), 'shutdown.duckdb');
    const child = spawn(process.execPath, ['dist/cli/main.js', 'serve', '--db', db, '--now', TEST_NOW, '--http', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk) => {
        stderr += String(chunk);
        const match = /serving HTTP on (http:\/\/[^:]+:\d+)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
      child.once('exit', () => reject(new Error(`server exited: ${stderr}`)));
    });
    const batches = Array.from({ length: 4 }, (_, b) => Array.from({ length: 5000 }, (_, i) => JSON.stringify(record(`b${b}_${i}`))).join('\n'));
    const posts = batches.map((body) =>
      fetch(`${url}/v1/executions`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body }).then(async (r) => ({ status: r.status, body: (await r.json()) as { accepted: number } })),
    );
    // Wait until the server is committing, then ask it to stop.
    let sawQueue = false;
    for (let i = 0; i < 500 && !sawQueue; i++) {
      const health = (await (await fetch(`${url}/healthz`)).json()) as { queued_writes: number };
      sawQueue = health.queued_writes > 0;
      if (!sawQueue) await new Promise((r) => setTimeout(r, 10));
    }
    expect(sawQueue).toBe(true);
    child.kill('SIGTERM');
    const results = await Promise.allSettled(posts);
    const exitCode = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
    expect(exitCode).toBe(0);
    const answered = results.filter((r): r is PromiseFulfilledResult<{ status: number; body: { accepted: number } }> => r.status === 'fulfilled');
    expect(answered.length).toBeGreaterThan(0);
    for (const r of answered) expect(r.value.status).toBe(200);
    const store = await Store.open({ path: db, clock: fixedClock(new Date(TEST_NOW)) });
    const row = await store.read((d) => d.one<{ n: number }>('SELECT count(*)::INTEGER AS n FROM executions'));
    await store.close();
    // Every batch that was answered is committed; none is half-written.
    expect(row?.n).toBe(answered.reduce((sum, r) => sum + r.value.body.accepted, 0));
    expect((row?.n ?? 0) % 5000).toBe(0);
  });
});
