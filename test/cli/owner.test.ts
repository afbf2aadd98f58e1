import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURE_NOW, smallFleet } from '../fixtures/small-fleet.js';
import { lines, tempDir } from '../helpers.js';

const CLI = join(process.cwd(), 'dist/cli/main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, MCP_BLACKBOX_DB: '' } });

const clients: Client[] = [];
afterEach(async () => {
  while (clients.length) await clients.pop()!.close().catch(() => undefined);
});

async function stdioServe(args: string[], name: string): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'serve', ...args], stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d));
  const client = new Client({ name, version: '1' });
  await client.connect(transport);
  clients.push(client);
  return { client, stderr: () => stderr };
}

function fleetDb(): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'fleet.jsonl'), lines(...smallFleet()));
  const db = join(dir, 'fleet.duckdb');
  expect(cli('ingest', dir, '--db', db, '--now', FIXTURE_NOW).status).toBe(0);
  return db;
}

const total = async (client: Client) =>
  ((await client.callTool({ name: 'usage_summary', arguments: { from: '2026-10-01', to: '2026-11-01' } })).structuredContent as { total_executions: number }).total_executions;

describe('one server owns the database; every other door goes through it', () => {
  it('a second stdio serve on the same file answers through the owner, as its own --as user; read commands work meanwhile', async () => {
    const db = fleetDb();
    const first = await stdioServe(['--db', db, '--now', FIXTURE_NOW, '--no-spool', '--as', 'u_ana'], 'claude-desktop');
    const owner = JSON.parse(readFileSync(`${db}.owner.json`, 'utf8'));
    expect(owner).toMatchObject({ pid: expect.any(Number), url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), token: expect.any(String) });
    expect(statSync(`${db}.owner.json`).mode & 0o777).toBe(0o600);

    const second = await stdioServe(['--db', db, '--as', 'u_ben'], 'cursor');
    expect(await total(second.client)).toBe(await total(first.client));
    expect(second.stderr()).toMatch(/is owned by PID \d+; serving its tools on stdio through http:\/\/127\.0\.0\.1:\d+\/mcp as u_ben/);
    // The bridge's caller is u_ben (single-user mode makes a named caller an admin who sees own payloads).
    const trace = await second.client.callTool({ name: 'trace_execution', arguments: { execution_id: 'wf_fail' } });
    expect((trace.structuredContent as { payloads: string }).payloads).toBe('masked');
    const mine = await first.client.callTool({ name: 'trace_execution', arguments: { execution_id: 'wf_fail' } });
    expect((mine.structuredContent as { payloads: string }).payloads).toBe('visible');
    // The audit log names who looked: u_ben through the bridge, u_ana directly.
    let actors: string[] = [];
    for (let i = 0; i < 100 && !actors.includes('u_ben'); i++) {
      const audit = await first.client.callTool({ name: 'audit_log', arguments: { target: 'wf_fail' } });
      actors = (audit.structuredContent as { events: Array<{ actor: string }> }).events.map((e) => e.actor);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(actors).toEqual(expect.arrayContaining(['u_ben', 'u_ana']));

    // Read-only commands run in the owner instead of failing with "in use".
    const summary = cli('summary', '--db', db, '--now', FIXTURE_NOW, '--window', '30d');
    expect(summary.status, summary.stderr).toBe(0);
    expect(summary.stdout).toMatch(/executions +\d+/);
    const quarantine = cli('quarantine', '--db', db);
    expect(quarantine.status, quarantine.stderr).toBe(0);
    expect(quarantine.stdout).toMatch(/^0 quarantined line\(s\)/);
    const verify = cli('audit', 'verify', '--db', db);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/audit chain OK: \d+ events/);

    // The owner's door answers nobody without the token.
    const anonymous = await fetch(`${owner.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    expect(anonymous.status).toBe(401);
    const wrongToken = await fetch(`${owner.url}/v1/cli/summary`, { method: 'POST', headers: { authorization: 'Bearer nope', 'content-type': 'application/json' }, body: '{}' });
    expect(wrongToken.status).toBe(401);

    // The owner goes away: its file goes with it, and the next serve owns the database.
    await first.client.close();
    const deadline = Date.now() + 10_000;
    while (existsSync(`${db}.owner.json`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(`${db}.owner.json`)).toBe(false);
  });

  it('an HTTP serve and a stdio serve on one file both answer; connect bridges to any URL; a stale owner file is ignored', async () => {
    const db = fleetDb();
    // A crash leaves an owner file behind: a process that no longer exists.
    writeFileSync(`${db}.owner.json`, JSON.stringify({ pid: 2 ** 22 + 12345, url: 'http://127.0.0.1:1', token: 'stale', version: '0', started_at: '2026-01-01T00:00:00Z' }), { mode: 0o600 });
    const http = spawn(process.execPath, [CLI, 'serve', '--db', db, '--now', FIXTURE_NOW, '--no-spool', '--http', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    http.stderr.on('data', (d) => (stderr += d));
    try {
      const deadline = Date.now() + 15_000;
      while (!/serving HTTP on (http:\/\/\S+):/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const url = /serving HTTP on (http:\/\/\S+?):\s/.exec(stderr)![1]!;
      expect(JSON.parse(readFileSync(`${db}.owner.json`, 'utf8')).url).toBe(url);

      const viaStdio = await stdioServe(['--db', db], 'claude-desktop');
      const viaConnect = new Client({ name: 'connect', version: '1' });
      await viaConnect.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'connect', url], stderr: 'pipe' }));
      clients.push(viaConnect);
      const answers = await Promise.all([total(viaStdio.client), total(viaConnect)]);
      expect(answers[0]).toBeGreaterThan(0);
      expect(answers[1]).toBe(answers[0]);
      expect(cli('summary', '--db', db, '--now', FIXTURE_NOW).status).toBe(0);
    } finally {
      http.kill('SIGTERM');
      await new Promise((r) => http.once('exit', r));
    }
    expect(existsSync(`${db}.owner.json`)).toBe(false);
    // With no owner, a read command opens the file itself again.
    expect(cli('summary', '--db', db, '--now', FIXTURE_NOW).status).toBe(0);
  });
});
