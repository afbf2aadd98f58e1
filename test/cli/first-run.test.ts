import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { parseListen } from '../../src/http/server.js';
import { FIXTURE_NOW, smallFleet } from '../fixtures/small-fleet.js';
import { lines, tempDir } from '../helpers.js';

const CLI = join(process.cwd(), 'dist/cli/main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, MCP_BLACKBOX_DB: '' } });

describe('first-run rough edges', () => {
  it('--http takes every [HOST:]PORT form, and a bare port is a port', () => {
    expect(parseListen('9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseListen(':9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseListen(' 8765 ')).toEqual({ host: '127.0.0.1', port: 8765 });
    expect(parseListen('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('localhost:8080')).toEqual({ host: 'localhost', port: 8080 });
    expect(parseListen('0.0.0.0:0')).toEqual({ host: '0.0.0.0', port: 0 });
    expect(parseListen('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseListen('gateway.internal:443')).toEqual({ host: 'gateway.internal', port: 443 });
    for (const bad of ['', 'host:', '::1:80', '99999', 'a:b', '80:80:80', '[::1]']) {
      expect(() => parseListen(bad), bad).toThrow(/--http takes \[HOST:\]PORT, like 8080, 127\.0\.0\.1:8080 or \[::1\]:8080/);
    }
  });

  it('--version prints the package version', () => {
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    const run = cli('--version');
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });

  it('read commands refuse a database that does not exist, and create nothing', () => {
    const dir = tempDir();
    for (const command of [['summary'], ['quarantine'], ['audit', 'verify']]) {
      const typo = join(dir, 'typo.duckdb');
      const inMissingDir = join(dir, 'no', 'such', 'dir', 'x.duckdb');
      for (const db of [typo, inMissingDir]) {
        const run = cli(...command, '--db', db);
        expect(run.status, command.join(' ')).toBe(2);
        expect(run.stderr).toContain(`No database at ${db}. Check --db (or MCP_BLACKBOX_DB)`);
        expect(existsSync(db)).toBe(false);
      }
      expect(existsSync(join(dir, 'no'))).toBe(false);
    }
  });

  it('single-user mode: --as NAME names the local caller, an admin who sees their own payloads in full', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'fleet.jsonl'), lines(...smallFleet()));
    const db = join(dir, 'fleet.duckdb');
    expect(cli('ingest', dir, '--db', db, '--now', FIXTURE_NOW).status).toBe(0);
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'serve', '--db', db, '--now', FIXTURE_NOW, '--as', 'u_ana'], stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (chunk) => (stderr += String(chunk)));
    const client = new Client({ name: 'first-run', version: '1.0.0' });
    await client.connect(transport);
    try {
      const own = (await client.callTool({ name: 'trace_execution', arguments: { execution_id: 'wf_fail' } })).structuredContent as any;
      expect(own.payloads).toBe('visible');
      expect(own.execution.input).toEqual({ account: 'ACME', owner_email: 'ana@example.com' });
      const other = (await client.callTool({ name: 'trace_execution', arguments: { execution_id: 'ben_10-30' } })).structuredContent as any;
      expect(other.payloads).toBe('masked');
    } finally {
      await client.close();
    }
    expect(stderr).toContain('serving MCP on stdio as u_ana (admin)');
  });
});

describe('quarantine you can see', () => {
  it('the watcher reports quarantined lines on stderr: the first at once, then at most one line per file every ten seconds', async () => {
    const { vi } = await import('vitest');
    const { quarantineReporter } = await import('../../src/cli/commands/serve.js');
    vi.useFakeTimers();
    try {
      const written: string[] = [];
      const report = quarantineReporter((line) => written.push(line));
      const batch = (n: number) => ({ lines: n, inserted: 0, updated: 0, duplicates: 0, deferred: 0, tool_lists: 0, quarantined: { invalid_json: n }, rejected: [{ lineNo: 7, reason: 'invalid_json' }] });
      report('a.jsonl', batch(1));
      report('a.jsonl', batch(3));
      report('a.jsonl', batch(2));
      report('b.jsonl', batch(1));
      expect(written).toEqual([
        'watch: a.jsonl: 1 line(s) quarantined, first line 7: invalid_json. mcp-blackbox quarantine lists them.',
        'watch: b.jsonl: 1 line(s) quarantined, first line 7: invalid_json. mcp-blackbox quarantine lists them.',
      ]);
      vi.advanceTimersByTime(10_000);
      expect(written[2]).toBe('watch: a.jsonl: 5 more line(s) quarantined. mcp-blackbox quarantine lists them.');
      expect(written).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('serve --watch says so on stderr; /healthz and fleet_catalog count the quarantine', async () => {
    const { spawn } = await import('node:child_process');
    const dir = tempDir();
    const logs = join(dir, 'logs');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(logs);
    writeFileSync(join(logs, 'live.jsonl'), lines(...smallFleet().slice(0, 3), '{"execution_id": "bad", "status": "error"}'));
    const child = spawn(process.execPath, [CLI, 'serve', '--db', join(dir, 'w.duckdb'), '--watch', logs, '--http', '127.0.0.1:0', '--now', FIXTURE_NOW], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += String(c)));
    try {
      for (let i = 0; i < 200 && !(/line\(s\) quarantined/.test(stderr) && /serving HTTP on/.test(stderr)); i++) await new Promise((r) => setTimeout(r, 50));
      expect(stderr).toMatch(/watch: \S+live\.jsonl: 1 line\(s\) quarantined, first line 4: missing_field:started_at \(expected an RFC 3339 timestamp/);
      const url = /serving HTTP on (http:\/\/[^\s:]+:\d+)/.exec(stderr)![1]!;
      const health = (await (await fetch(`${url}/healthz`)).json()) as Record<string, unknown>;
      expect(health.quarantined_lines).toBe(1);
      const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
      const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
      const client = new Client({ name: 'q', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
      const catalog = await client.callTool({ name: 'fleet_catalog', arguments: {} });
      expect((catalog.structuredContent as any).store.quarantined_lines).toBe(1);
      await client.close();
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});

describe('npm start', () => {
  it('stops on the first Ctrl-C sent to npm: the signal reaches the server', async () => {
    const { spawn } = await import('node:child_process');
    const dir = tempDir();
    const child = spawn('npm', ['start', '--', '--db', join(dir, 'demo.duckdb'), '--http', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c) => (stderr += String(c)));
    for (let i = 0; i < 600 && !stderr.includes('Ctrl-C stops the demo'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(stderr).toContain('Ctrl-C stops the demo');
    child.kill('SIGINT'); // npm's own process only, as a process manager would signal it
    const exit = await Promise.race([
      new Promise<number | null>((r) => child.once('exit', (code) => r(code))),
      new Promise<string>((r) => setTimeout(() => r('still running after 10 s'), 10_000)),
    ]);
    if (exit === 'still running after 10 s') child.kill('SIGKILL');
    expect(exit).toBe(0);
  });
});

describe('--catalog', () => {
  it('every command that reads the catalog takes the file, and a bad one is refused with the format', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'fleet.jsonl'), lines(...smallFleet()));
    const catalog = join(dir, 'catalog.json');
    writeFileSync(catalog, JSON.stringify({ tools: [{ name: 'listed_only', server: 'eng-gateway', kind: 'connector' }] }));
    const db = join(dir, 'c.duckdb');
    const ingest = cli('ingest', dir, '--db', db, '--now', FIXTURE_NOW, '--catalog', catalog);
    expect(ingest.status).toBe(0);
    expect(ingest.stderr).toContain(`catalog: 1 tools from ${catalog}`);
    expect(cli('summary', '--db', db, '--now', FIXTURE_NOW).stdout).toMatch(/listed_only/);
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ tools: [{ name: 'second_listed', server: 'eng-gateway' }] }));
    expect(cli('summary', '--db', db, '--now', FIXTURE_NOW, '--catalog', other).stdout).toMatch(/second_listed/);
    writeFileSync(other, JSON.stringify({ tools: [{ server: 'x' }] }));
    const bad = cli('summary', '--db', db, '--catalog', other);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/catalog file .* is invalid at tools\.0\.name/);
  });
});

describe('summary windows', () => {
  it('summary takes window all and --tz; a zone it does not know is refused', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'fleet.jsonl'), lines(...smallFleet()));
    const db = join(dir, 'w.duckdb');
    expect(cli('ingest', dir, '--db', db, '--now', FIXTURE_NOW).status).toBe(0);
    const oldest = smallFleet().map((r) => r.started_at as string).sort()[0]!;
    const all = cli('summary', '--db', db, '--now', FIXTURE_NOW, '--window', 'all');
    expect(all.status).toBe(0);
    expect(all.stdout).toContain(`Fleet summary, ${oldest.slice(0, 10)}T00:00:00.000Z to 2026-11-01T00:00:00.000Z`);
    expect(all.stdout).toMatch(new RegExp(`executions +${new Set(smallFleet().map((r) => r.execution_id)).size} `));
    const berlin = cli('summary', '--db', db, '--now', FIXTURE_NOW, '--window', 'yesterday', '--tz', 'Europe/Berlin');
    expect(berlin.stdout).toContain('Fleet summary, 2026-10-30T23:00:00.000Z to 2026-10-31T23:00:00.000Z');
    const bad = cli('summary', '--db', db, '--tz', 'Berlin');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/tz must be an IANA time zone name like UTC, Europe\/Berlin/);
  });
});

describe('ingest progress', () => {
  it('draws bytes, lines, rates and the time left, at most every 250 ms', async () => {
    const { IngestProgress } = await import('../../src/cli/progress.js');
    const dir = tempDir();
    const file = join(dir, 'a.jsonl');
    writeFileSync(file, 'x'.repeat(10_000_000));
    let now = 0;
    const written: string[] = [];
    const progress = new IngestProgress([file], (t) => written.push(t), () => now);
    now = 1000;
    progress.update(file, { bytes: 2_500_000, lines: 4000 });
    now = 1100;
    progress.update(file, { bytes: 3_000_000, lines: 4800 }); // within 250 ms: not drawn
    expect(written).toEqual(['\r\x1b[Kingest: 2.5 MB of 10.0 MB (25%), 4,000 lines, 4,000 lines/s, 2.5 MB/s, ETA 3 s']);
    progress.finish();
    expect(written.at(-1)).toBe('\r\x1b[K');
  });

  it('shows on a terminal only, and not with --quiet', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'fleet.jsonl'), lines(...smallFleet()));
    const run = (extra: string) =>
      spawnSync('script', ['-qec', `${process.execPath} ${CLI} ingest ${join(dir, 'fleet.jsonl')} --db ${join(dir, `t${extra ? 'q' : ''}.duckdb`)} --now ${FIXTURE_NOW} ${extra}`, '/dev/null'], { encoding: 'utf8' });
    const tty = run('');
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/ingest: [\d.]+ MB of [\d.]+ MB \(\d+%\), [\d,]+ lines, [\d,]+ lines\/s, [\d.]+ MB\/s, ETA \d+ s/);
    expect(tty.stdout).toMatch(/Ingested 1 file\(s\)/);
    expect(run('--quiet').stdout).not.toMatch(/lines\/s, /);
    const piped = cli('ingest', join(dir, 'fleet.jsonl'), '--db', join(dir, 'p.duckdb'), '--now', FIXTURE_NOW);
    expect(piped.stderr).not.toMatch(/ingest: /);
  });
});
