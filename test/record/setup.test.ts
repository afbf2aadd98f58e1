import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { parse } from 'jsonc-parser';
import { describe, expect, it } from 'vitest';
import { clientConfig, planSetup, planUndo } from '../../src/record/setup.js';
import { tempDir } from '../helpers.js';

const CLI = join(process.cwd(), 'dist/cli/main.js');
const FIXTURES = join(process.cwd(), 'test/fixtures/client-configs');

const CASES = [
  { client: 'claude-desktop', file: 'claude_desktop_config.json', key: 'mcpServers', stdio: ['memory', 'filesystem'], remote: [] as string[] },
  { client: 'cursor', file: 'cursor-mcp.json', key: 'mcpServers', stdio: ['github'], remote: ['linear'] },
  { client: 'vscode', file: 'vscode-mcp.json', key: 'servers', stdio: ['memory'], remote: ['github'] },
  { client: 'claude-code', file: 'claude.json', key: 'mcpServers', stdio: ['everything'], remote: ['sentry'] },
] as const;

function setup(home: string, ...args: string[]) {
  // HOME points at a scratch directory: no real client config can be touched.
  return spawnSync(process.execPath, [CLI, 'setup', ...args], { encoding: 'utf8', env: { ...process.env, HOME: home, MCP_BLACKBOX_USER: 'u_ana' } });
}

describe('setup <client>: record a whole client in one command', () => {
  it.each(CASES)('$client: wraps every stdio server, leaves remote ones, adds blackbox; a diff, idempotent, --undo byte for byte', ({ client, file, key, stdio, remote }) => {
    const home = tempDir();
    const config = join(home, file);
    copyFileSync(join(FIXTURES, file), config);
    const original = readFileSync(config, 'utf8');

    const dry = setup(home, client, '--config', config, '--dry-run');
    expect(dry.status, dry.stderr).toBe(0);
    expect(readFileSync(config, 'utf8')).toBe(original);
    expect(dry.stdout).toContain('(dry run: nothing written)');

    const first = setup(home, client, '--config', config, '--db', join(home, 'bb.duckdb'));
    expect(first.status, first.stderr).toBe(0);
    for (const name of stdio) expect(first.stdout).toContain(`recorded: ${name} (now runs through wrap, as user u_ana)`);
    for (const name of remote) expect(first.stdout).toContain(`not recorded (remote): ${name}`);
    expect(first.stdout).toMatch(/^\+.*"wrap"/m);
    expect(first.stdout).toMatch(/^-.*"args"/m);
    const written = readFileSync(config, 'utf8');
    const servers = (parse(written) as Record<string, Record<string, any>>)[key]!;
    const before = (parse(original) as Record<string, Record<string, any>>)[key]!;
    for (const name of stdio) {
      expect(servers[name]!.command).toBe(process.execPath);
      expect(servers[name]!.args).toEqual([CLI, 'wrap', '--server', name, '--user', 'u_ana', '--', before[name]!.command, ...(before[name]!.args ?? [])]);
      // Everything else of the entry (env, type) is kept.
      expect({ ...servers[name], command: undefined, args: undefined }).toEqual({ ...before[name], command: undefined, args: undefined });
    }
    for (const name of remote) expect(servers[name]).toEqual(before[name]);
    expect(servers.blackbox).toMatchObject({ command: process.execPath, args: [CLI, 'serve', '--db', join(home, 'bb.duckdb'), '--as', 'u_ana'] });
    if (client === 'vscode') expect(written).toContain('// the knowledge graph');
    if (client === 'claude-code') {
      // Claude Code's per-project servers are recorded too; the blackbox entry is added once, at the user level.
      expect(first.stdout).toContain('recorded: postgres (project /home/ana/app) (now runs through wrap, as user u_ana)');
      expect(first.stdout).toContain('not recorded (remote): linear (project /home/ana/app)');
      const project = (parse(written) as any).projects['/home/ana/app'].mcpServers;
      expect(project.postgres.args).toEqual([CLI, 'wrap', '--server', 'postgres', '--user', 'u_ana', '--', 'npx', '-y', '@modelcontextprotocol/server-postgres', 'postgresql://localhost/app']);
      expect(project.blackbox).toBeUndefined();
    }
    expect(readFileSync(`${config}.mcp-blackbox.bak`, 'utf8')).toBe(original);

    const again = setup(home, client, '--config', config, '--db', join(home, 'bb.duckdb'));
    expect(again.stdout).toContain('nothing to change');
    expect(readFileSync(config, 'utf8')).toBe(written);

    const undo = setup(home, client, '--config', config, '--undo');
    expect(undo.status, undo.stderr).toBe(0);
    expect(readFileSync(config, 'utf8')).toBe(original);
  });

  it('undo after the file was edited by hand takes out only what setup put in; a broken config is refused, not overwritten', () => {
    const home = tempDir();
    const config = join(home, 'claude_desktop_config.json');
    copyFileSync(join(FIXTURES, 'claude_desktop_config.json'), config);
    const original = parse(readFileSync(config, 'utf8'));
    expect(setup(home, 'claude-desktop', '--config', config).status).toBe(0);
    const edited = readFileSync(config, 'utf8').replace('"globalShortcut": "Cmd+Shift+Space"', '"globalShortcut": "Cmd+Shift+K"');
    writeFileSync(config, edited);
    const undo = setup(home, 'claude-desktop', '--config', config, '--undo');
    expect(undo.stdout).toContain('edited since setup; unwrapped memory, filesystem, removed the blackbox entry');
    expect(parse(readFileSync(config, 'utf8'))).toEqual({ ...(original as object), globalShortcut: 'Cmd+Shift+K' });

    writeFileSync(config, '{ "mcpServers": { "x": ');
    const broken = setup(home, 'claude-desktop', '--config', config);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/the config is not valid JSON: .* at offset \d+/);
    expect(readFileSync(config, 'utf8')).toBe('{ "mcpServers": { "x": ');
    expect(setup(home, 'zed').stderr).toContain('setup takes one of claude-desktop, cursor, vscode, claude-code; got "zed"');
  });

  it('undo without the backup takes the wrap out of every server it put it in, Claude Code projects too', () => {
    const original = readFileSync(join(FIXTURES, 'claude.json'), 'utf8');
    const self: [string, string] = [process.execPath, CLI];
    const setUp = planSetup(original, { client: 'claude-code', key: 'mcpServers', self, db: '/tmp/bb.duckdb', user: 'u_ana' });
    expect(setUp.wrapped).toEqual(['everything', 'postgres (project /home/ana/app)']);
    const undone = planUndo(setUp.text, { client: 'claude-code', key: 'mcpServers', self });
    expect(undone.unwrapped).toEqual(['everything', 'postgres (project /home/ana/app)']);
    expect(parse(undone.text)).toEqual(parse(original));
  });

  it('with no --config, the standard path for this OS (created when the client has none yet)', () => {
    const home = tempDir();
    const expected = clientConfig('cursor', process.platform, { HOME: home });
    expect(expected.path).toBe(join(home, '.cursor', 'mcp.json'));
    expect(clientConfig('claude-desktop', 'darwin', { HOME: '/Users/ana' }).path).toBe('/Users/ana/Library/Application Support/Claude/claude_desktop_config.json');
    expect(clientConfig('claude-desktop', 'linux', { HOME: '/home/ana' }).path).toBe('/home/ana/.config/Claude/claude_desktop_config.json');
    expect(clientConfig('vscode', 'win32', { HOME: 'C:\\Users\\ana', APPDATA: 'C:\\Users\\ana\\AppData\\Roaming' }).path).toContain(join('Code', 'User', 'mcp.json'));
    const run = setup(home, 'cursor');
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(expected.path)).toBe(true);
    expect((parse(readFileSync(expected.path, 'utf8')) as any).mcpServers.blackbox.args).toContain('serve');
  });

  it('the rewritten entry is what the client then launches: a server behind wrap answers and is recorded', async () => {
    const home = tempDir();
    const config = join(home, 'claude_desktop_config.json');
    writeFileSync(config, JSON.stringify({ mcpServers: { memory: { command: process.execPath, args: [join(process.cwd(), 'node_modules/@modelcontextprotocol/server-memory/dist/index.js')], env: { MEMORY_FILE_PATH: join(home, 'm.jsonl') } } } }));
    expect(setup(home, 'claude-desktop', '--config', config).status).toBe(0);
    const entry = (JSON.parse(readFileSync(config, 'utf8')) as any).mcpServers.memory;
    const spool = join(home, 'spool');
    const transport = new StdioClientTransport({ command: entry.command, args: entry.args, env: { ...(process.env as Record<string, string>), ...entry.env, MCP_BLACKBOX_SPOOL: spool }, stderr: 'pipe' });
    const client = new Client({ name: 'claude-ai', version: '1' });
    await client.connect(transport);
    await client.callTool({ name: 'read_graph', arguments: {} });
    await client.close();
    const deadline = Date.now() + 10_000;
    let lines: any[] = [];
    while (Date.now() < deadline) {
      const files = existsSync(spool) ? readdirSync(spool) : [];
      lines = files.flatMap((f: string) => readFileSync(join(spool, f), 'utf8').split('\n').filter(Boolean).map((l: string) => JSON.parse(l)));
      if (lines.some((l) => l.execution_id)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(lines.find((l) => l.execution_id)).toMatchObject({ tool: { name: 'read_graph', server: 'memory' }, user: { id: 'u_ana' }, agent: { client: 'claude-ai' }, status: 'succeeded' });
  });
});
