import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, writtenEvents } from '../helpers.js';

const CLI = join(process.cwd(), 'dist/cli/main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, MCP_BLACKBOX_DB: '' }, timeout: 60_000 });

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }
});

const N = 6000;

function fleetDb(dir: string): string {
  const lines = Array.from({ length: N }, (_, i) =>
    JSON.stringify({
      execution_id: `ex_${String(i).padStart(5, '0')}`,
      started_at: new Date(Date.parse('2026-10-30T00:00:00Z') + i * 10_000).toISOString(),
      status: i % 7 === 0 ? 'failed' : 'succeeded',
      tool: { name: 'search_docs', kind: 'connector', server: 'docs-gateway' },
      user: { id: `u_${i % 5}` },
      input: { q: `query ${i}` },
    }),
  );
  writeFileSync(join(dir, 'fleet.jsonl'), `${lines.join('\n')}\n`);
  const db = join(dir, 'fleet.duckdb');
  expect(cli('ingest', join(dir, 'fleet.jsonl'), '--db', db, '--now', '2026-11-01T00:00:00Z', '--quiet').status).toBe(0);
  return db;
}

function serve(db: string, exportFile: string): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, [CLI, 'serve', '--db', db, '--no-spool', '--now', '2026-11-01T00:00:00Z', '--http', '127.0.0.1:0', '--export', exportFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const url = (async () => {
    const deadline = Date.now() + 20_000;
    while (!/serving HTTP on (http:\/\/\S+?):\s/.test(stderr)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`serve did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return /serving HTTP on (http:\/\/\S+?):\s/.exec(stderr)![1]!;
  })();
  return { child, url };
}

/** The events' uids in the file the server is writing. */
const uidsIn = (file: string) => writtenEvents<{ metadata: { uid: string } }>(file).map((e) => e.metadata.uid);

describe('serve --export, end to end', () => {
  it('killed with -9 mid-stream and restarted: every event in the file, duplicates only from the last unacknowledged batch; the audit chain verifies from the export', async () => {
    const dir = tempDir();
    const db = fleetDb(dir);
    const out = join(dir, 'siem');
    const config = join(dir, 'export.yaml');
    // raw, so that the export's audit stream has events: starting a raw sink is one.
    writeFileSync(config, `sinks:\n  files:\n    type: file\n    dir: ${out}\n    policy: raw\n    batch: 100\n    max_bytes: 1GB\n    streams: [executions, audit]\n`);
    const file = join(out, 'mcp-blackbox.ndjson');

    const first = serve(db, config);
    await first.url;
    const deadline = Date.now() + 20_000;
    while (uidsIn(file).length < 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const atKill = uidsIn(file).length;
    expect(atKill).toBeGreaterThanOrEqual(500);
    expect(atKill).toBeLessThan(N);

    const second = serve(db, config);
    const url = await second.url;
    let health: { export: Array<{ lag_events: number; sent: number; last_error: string | null }> };
    for (;;) {
      health = await (await fetch(`${url}/healthz`)).json();
      if (health.export[0]!.lag_events === 0 || Date.now() > deadline + 20_000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(health.export[0]).toMatchObject({ lag_events: 0, last_error: null });

    const uids = uidsIn(file);
    const executions = uids.filter((u) => u.startsWith('ex_'));
    const unique = [...new Set(executions)];
    expect(unique).toHaveLength(N);
    // In storage order (one transaction, so by id), each once apart from what was resent.
    expect(unique).toEqual([...unique].sort());
    // Resent: at most the batch in flight when the process died (100 per stream).
    expect(executions.length - N).toBeLessThanOrEqual(100);
    expect(uids.filter((u) => u.startsWith('audit-'))).toEqual(expect.arrayContaining(['audit-1', 'audit-2']));

    // The SIEM side: the audit chain checks out from the export alone, and an edit is caught.
    const verified = cli('audit', 'verify', '--from-export', file);
    expect(verified.status, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/exported audit chain OK: events 1 to 2 \(2\)/);
    const tampered = join(dir, 'tampered.ndjson');
    writeFileSync(tampered, readFileSync(file, 'utf8').replaceAll('export sink started with policy raw', 'export sink started with policy masked'));
    const broken = cli('audit', 'verify', '--from-export', tampered);
    expect(broken.status).toBe(1);
    expect(broken.stdout).toMatch(/exported audit chain BROKEN at event 1: event 1 does not match its hash/);

    // A replay of a past range goes through the owner (it holds the sink), and leaves the cursor.
    const replayed = cli('export', '--sink', 'files', '--from', '2026-10-30T00:00:00Z', '--to', '2026-10-30T00:01:00Z', '--db', db);
    expect(replayed.status, replayed.stderr).toBe(0);
    expect(replayed.stdout).toContain('export files: sent 6 event(s)');
    expect(uidsIn(file).slice(-6)).toEqual(['ex_00000', 'ex_00001', 'ex_00002', 'ex_00003', 'ex_00004', 'ex_00005']);
    const unknown = cli('export', '--sink', 'nope', '--from', '2026-10-30T00:00:00Z', '--db', db);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('no sink is named "nope"; the sinks are files');

    // export_status for an admin over MCP.
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
    const status = await client.callTool({ name: 'export_status', arguments: {} });
    expect((status.structuredContent as { sinks: unknown[] }).sinks).toMatchObject([{ name: 'files', type: 'file', policy: 'raw', lag_events: 0 }]);
    expect((status.content as Array<{ text: string }>)[0]!.text).toMatch(/^files \(file, raw\): \d+ sent, 0 behind/);
    await client.close();
  });

  it('a bad export file stops serve at start with what to fix', () => {
    const dir = tempDir();
    const config = join(dir, 'export.yaml');
    writeFileSync(config, 'sinks:\n  siem:\n    type: syslog\n    host: siem.example.com\n    port: 99999\n');
    const run = cli('serve', '--db', join(dir, 'x.duckdb'), '--no-spool', '--http', '127.0.0.1:0', '--export', config);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('sink siem (syslog): port: Number must be less than or equal to 65535');
  });
});
