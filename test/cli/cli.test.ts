import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it, vi } from 'vitest';
import { onceAMinute } from '../../src/cli/commands/serve.js';
import { smallFleet, FIXTURE_NOW } from '../fixtures/small-fleet.js';
import { lines, record, tempDir } from '../helpers.js';

const CLI = join(process.cwd(), 'dist/cli/main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, MCP_BLACKBOX_DB: '' } });

describe('mcp-blackbox CLI (built)', () => {
  it('ingest prints a summary with counts by outcome and reason, exit 0 despite bad lines', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.jsonl'), lines(record('e1'), record('e1'), '{bad', record('e2', { status: 'nope' })));
    const db = join(dir, 'x.duckdb');
    const result = cli('ingest', dir, '--db', db, '--now', FIXTURE_NOW);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/Ingested 1 file\(s\), 4 lines/);
    expect(result.stdout).toMatch(/new executions\s+1/);
    expect(result.stdout).toMatch(/duplicates ignored\s+1/);
    expect(result.stdout).toMatch(/invalid_json\s+1/);
    expect(result.stdout).toMatch(/invalid_value:status\s+1/);
    const json = JSON.parse(cli('ingest', dir, '--db', db, '--now', FIXTURE_NOW, '--json').stdout);
    expect(json).toMatchObject({ files: 1, lines: 4, inserted: 0, duplicates: 2 });
    const quarantine = cli('quarantine', '--db', db);
    expect(quarantine.stdout).toMatch(/2 quarantined line\(s\)/);
    expect(quarantine.stdout).toContain('a.jsonl:3  invalid_json');
    // A summary of a window the data does not reach says where the data is, and how to look there.
    const stale = cli('summary', '--db', db, '--now', '2027-01-01T00:00:00Z');
    expect(stale.status).toBe(0);
    expect(stale.stdout).toMatch(/executions\s+0 /);
    expect(stale.stdout).toMatch(/note\s+No execution at all started in this window\. The store holds 1 execution, from (\S+) to \1\. The newest started \d+ \w+ before this window's end: .* Look there with --now \1 /);
  });

  it('exits 2 with a clear message when it cannot run', () => {
    const dir = tempDir();
    const missing = cli('ingest', join(dir, 'nope.jsonl'), '--db', join(dir, 'x.duckdb'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('No such file or directory');
    const badNow = cli('ingest', dir, '--db', join(dir, 'x.duckdb'), '--now', 'tomorrow');
    expect(badNow.status).toBe(2);
    expect(badNow.stderr).toMatch(/--now must be an RFC 3339 timestamp/);
    const withLimit = (limit: string) =>
      spawnSync(process.execPath, [CLI, 'quarantine', '--db', join(dir, 'x.duckdb')], {
        encoding: 'utf8',
        env: { ...process.env, MCP_BLACKBOX_DB: '', MCP_BLACKBOX_MEMORY_LIMIT: limit },
      });
    const noUnit = withLimit('80%');
    expect(noUnit.status).toBe(2);
    expect(noUnit.stderr).toContain('MCP_BLACKBOX_MEMORY_LIMIT must be a size with a unit, such as 384MB, 1GB or 512MiB; got "80%"');
    const tiny = withLimit('2MB');
    expect(tiny.status).toBe(2);
    expect(tiny.stderr).toMatch(/MCP_BLACKBOX_MEMORY_LIMIT=2MB is too small .* at least 16MB/);
    expect(withLimit(' 512 MiB ').status).toBe(0);
    expect(cli('frobnicate').status).toBe(2);
    const file = join(dir, 'live.jsonl');
    writeFileSync(file, '');
    const watchFile = cli('serve', '--db', join(dir, 'x.duckdb'), '--watch', file);
    expect(watchFile.status).toBe(2);
    expect(watchFile.stderr).toContain(`--watch takes directories, and ${file} is not one. To tail a file, watch its directory: --watch ${dir}`);
    // A directory not created yet is a warning, not an error: the gateway may create it later.
    const later = cli('serve', '--db', join(dir, 'x.duckdb'), '--watch', join(dir, 'later'));
    expect(later.status).toBe(0);
    expect(later.stderr).toContain(`watch: ${join(dir, 'later')} does not exist yet; its log files will be read once it is created`);
    expect(cli('--help').stdout).toMatch(/ingest.*\n.*summary/s);
  });

  it('ingest that runs out of the memory limit fails the file, exit 1, naming the variable that raises it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.jsonl'), lines(record('e1'), record('e2')));
    const result = spawnSync(process.execPath, [CLI, 'ingest', dir, '--db', join(dir, 'a.duckdb'), '--now', FIXTURE_NOW], {
      encoding: 'utf8',
      env: { ...process.env, MCP_BLACKBOX_DB: '', MCP_BLACKBOX_MEMORY_LIMIT: '16MB' },
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/new executions\s+0\n/);
    expect(result.stdout).toMatch(/FAILED .*a\.jsonl: DuckDB ran out of its memory limit .*Raise it with MCP_BLACKBOX_MEMORY_LIMIT \(for example MCP_BLACKBOX_MEMORY_LIMIT=1GB\)/);
  });

  it("serve's watcher log repeats the same error at most once a minute", () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-01T00:00:00Z') });
    try {
      const written: string[] = [];
      const log = onceAMinute((line) => written.push(line));
      log('watch: a.jsonl: out of memory');
      vi.advanceTimersByTime(30_000);
      log('watch: a.jsonl: out of memory');
      log('watch: b.jsonl: out of memory');
      vi.advanceTimersByTime(30_000);
      log('watch: a.jsonl: out of memory');
      expect(written).toEqual(['watch: a.jsonl: out of memory', 'watch: b.jsonl: out of memory', 'watch: a.jsonl: out of memory']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('serve speaks MCP over stdio to the SDK client, with nothing else on stdout', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'fleet.jsonl'), lines(...smallFleet()));
    const db = join(dir, 'fleet.duckdb');
    expect(cli('ingest', dir, '--db', db, '--now', FIXTURE_NOW).status).toBe(0);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'serve', '--db', db, '--now', FIXTURE_NOW],
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk) => (stderr += String(chunk)));
    const client = new Client({ name: 'e2e', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.length).toBeGreaterThanOrEqual(10);
      const usage = await client.callTool({ name: 'usage_summary', arguments: { window: '7d' } });
      expect((usage.structuredContent as any).total_executions).toBe(43);
      const spike = await client.callTool({ name: 'who_drove_spike', arguments: {} });
      expect((spike.structuredContent as any).contributors.users[0].key).toBe('u_bot');
      const bad = await client.callTool({ name: 'trace_execution', arguments: { execution_id: 'missing' } });
      expect(bad.isError).toBe(true);
      const prompts = await client.listPrompts();
      expect(prompts.prompts.map((p) => p.name)).toEqual(['weekly_fleet_review', 'diagnose_failed_run', 'tune_alerts']);
    } finally {
      await client.close();
    }
    expect(stderr).toContain('serving MCP on stdio as local (admin)');
  });

  it('serve takes the caller from --as and the access file, and refuses an unknown user at start', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'fleet.jsonl'), lines(...smallFleet()));
    const db = join(dir, 'fleet.duckdb');
    expect(cli('ingest', dir, '--db', db, '--now', FIXTURE_NOW).status).toBe(0);
    const access = join(dir, 'access.json');
    writeFileSync(access, JSON.stringify({ users: [{ id: 'u_root', role: 'admin' }, { id: 'u_ben', role: 'member' }] }));

    const unknown = cli('serve', '--db', db, '--access', access, '--as', 'u_mallory');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('User "u_mallory" is not in the access file; known users: u_root, u_ben');
    const nobody = cli('serve', '--db', db, '--access', access);
    expect(nobody.status).toBe(2);
    expect(nobody.stderr).toContain('pass --as USER');

    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'serve', '--db', db, '--now', FIXTURE_NOW, '--access', access, '--as', 'u_ben'], stderr: 'pipe' });
    const client = new Client({ name: 'e2e', version: '1.0.0' });
    await client.connect(transport);
    try {
      const trace = await client.callTool({ name: 'trace_execution', arguments: { execution_id: 'wf_fail' } });
      expect((trace.structuredContent as any).payloads).toBe('masked');
      const unmask = await client.callTool({ name: 'unmask_execution', arguments: { execution_id: 'wf_fail', reason: 'let me see it please' } });
      expect(unmask.isError).toBe(true);
    } finally {
      await client.close();
    }
    const verify = cli('audit', 'verify', '--db', db);
    expect(verify.status).toBe(0);
    expect(verify.stdout).toMatch(/audit chain OK: 2 events/);
  });
});
