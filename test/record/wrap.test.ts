import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../src/ingest/files.js';
import { openTestStore, tempDir } from '../helpers.js';
import { call, connect, text } from '../mcp/harness.js';

const CLI = join(process.cwd(), 'dist/cli/main.js');
const EVERYTHING = join(process.cwd(), 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const MEMORY = join(process.cwd(), 'node_modules/@modelcontextprotocol/server-memory/dist/index.js');

const open: Client[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close().catch(() => undefined);
});

/** An SDK client on a server, launched directly or through `mcp-blackbox wrap` as a client config would. */
async function client(server: string, wrapArgs?: string[], env: Record<string, string> = {}): Promise<{ client: Client; transport: StdioClientTransport }> {
  const args = wrapArgs ? [CLI, 'wrap', ...wrapArgs, '--', process.execPath, server] : [server];
  const transport = new StdioClientTransport({ command: process.execPath, args, stderr: 'pipe', env: { ...(process.env as Record<string, string>), ...env } });
  const c = new Client({ name: 'wrap-test-client', version: '1.0.0' }, { capabilities: {} });
  await c.connect(transport);
  open.push(c);
  return { client: c, transport };
}

function spooled(dir: string): Array<Record<string, any>> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}

async function until<T>(what: () => T | undefined | false, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = what();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What a session sees of a server: every list and a few calls of each kind, with progress counted. */
async function session(c: Client) {
  const progress: number[] = [];
  const aborted = new AbortController();
  const cancelled = c.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 10, steps: 10 } }, undefined, { signal: aborted.signal }).then(
    () => 'finished',
    (error: Error) => `rejected: ${error.name}`,
  );
  setTimeout(() => aborted.abort(), 300);
  return {
    tools: await c.listTools(),
    resources: await c.listResources(),
    templates: await c.listResourceTemplates(),
    prompts: await c.listPrompts(),
    prompt: await c.getPrompt({ name: 'args-prompt', arguments: { city: 'Lyon' } }),
    resource: await c.readResource({ uri: 'demo://resource/static/document/architecture.md' }),
    echo: await c.callTool({ name: 'echo', arguments: { message: 'hello' } }),
    sum: await c.callTool({ name: 'get-sum', arguments: { a: 2, b: 40 } }),
    structured: await c.callTool({ name: 'get-structured-content', arguments: { location: 'New York' } }),
    unknown: await c.callTool({ name: 'no-such-tool', arguments: {} }),
    badArgs: await c.callTool({ name: 'get-sum', arguments: { a: 'two' } }),
    long: await c.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } }, undefined, { onprogress: (p) => progress.push(p.progress) }),
    progress,
    cancelled: await cancelled,
  };
}

describe('wrap: a recording stdio proxy in front of real MCP servers', () => {
  it('server-everything answers the same with and without wrap, and every tools/call is recorded with its status', async () => {
    const spool = tempDir();
    const direct = await session((await client(EVERYTHING)).client);
    const wrapped = await session((await client(EVERYTHING, ['--spool', spool, '--user', 'u_wrap', '--env', 'test'])).client);
    // Progress arrives while the server works: how many notifications beat the result is timing.
    const { progress, ...sameAnswers } = wrapped;
    const { progress: directProgress, ...directAnswers } = direct;
    expect(sameAnswers).toEqual(directAnswers);
    for (const seen of [progress, directProgress]) expect(seen.length > 0 && seen.every((p, i) => p === i + 1)).toBe(true);
    expect(wrapped.cancelled).toBe('rejected: McpError'); // the SDK's "request was cancelled"
    expect(wrapped.unknown.isError).toBe(true);
    while (open.length) await open.pop()!.close();

    const records = await until(() => {
      const r = spooled(spool).filter((x) => x.execution_id);
      return r.length >= 7 && r;
    });
    const byTool = (name: string) => records.filter((r) => r.tool.name === name);
    expect(records.map((r) => r.tool.name).sort()).toEqual(
      ['echo', 'get-structured-content', 'get-sum', 'get-sum', 'no-such-tool', 'trigger-long-running-operation', 'trigger-long-running-operation'].sort(),
    );
    for (const r of records) {
      expect(r).toMatchObject({ tool: { server: 'mcp-servers/everything', kind: 'connector' }, user: { id: 'u_wrap' }, agent: { client: 'wrap-test-client' }, environment: 'test' });
      expect(r.agent.session_id).toBe(records[0]!.agent.session_id);
    }
    expect(byTool('echo')[0]).toMatchObject({ status: 'succeeded', input: { message: 'hello' }, output: { content: [{ type: 'text', text: 'Echo: hello' }] } });
    expect(byTool('get-structured-content')[0]!.output.structuredContent).toEqual(direct.structured.structuredContent);
    expect(byTool('no-such-tool')[0]).toMatchObject({ status: 'failed', error: { type: 'tool_error', layer: 'tool' } });
    expect(byTool('get-sum').map((r) => r.status).sort()).toEqual(['failed', 'succeeded']);
    expect(byTool('trigger-long-running-operation').map((r) => r.status).sort()).toEqual(['stopped', 'succeeded']);
    // The server's tool list is recorded too: the catalog knows tools nobody called.
    const lists = spooled(spool).filter((x) => x.record_type === 'tool_catalog');
    expect(lists).toHaveLength(1);
    expect(lists[0]!.tools.map((t: { name: string }) => t.name)).toEqual(direct.tools.tools.map((t) => t.name));
    // The spool holds payloads: its owner alone may read it.
    expect(statSync(spool).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(spool)) expect(statSync(join(spool, f)).mode & 0o777).toBe(0o600);

    // The spool is a log like any other: ingested, the executions answer through our tools.
    const store = await openTestStore(new Date(Date.now() + 60_000).toISOString());
    const summary = await ingestFiles(store, [spool]);
    expect(summary).toMatchObject({ inserted: 7, duplicates: 0, quarantined: {} });
    const ours = await connect(store, { id: 'u_wrap', role: 'member' });
    const listed = await call(ours, 'list_executions', { window: '1h', limit: 20 });
    expect(listed.structuredContent.executions.map((e: any) => e.tool).sort()).toEqual(records.map((r) => r.tool.name).sort());
    const failed = byTool('no-such-tool')[0]!;
    const trace = await call(ours, 'trace_execution', { execution_id: failed.execution_id });
    expect(trace.structuredContent.execution).toMatchObject({ status: 'failed', server: 'mcp-servers/everything', client: 'wrap-test-client', error_type: 'tool_error', user_id: 'u_wrap' });
    expect(text(trace)).toContain('no-such-tool');
    const unused = await call(ours, 'unused_tools', { window: '1h' });
    expect(unused.structuredContent.tools.map((t: any) => t.name)).toContain('get-tiny-image');
    const catalog = await call(ours, 'fleet_catalog', {});
    expect(catalog.structuredContent.tool_lists).toMatchObject([{ server: 'mcp-servers/everything', tools: direct.tools.tools.length, versions: 1 }]);
  });

  it("the server's own requests pass both ways: roots, elicitation and sampling answer the same through wrap", async () => {
    const spool = tempDir();
    const ask = async (wrapArgs?: string[]) => {
      const args = wrapArgs ? [CLI, 'wrap', ...wrapArgs, '--', process.execPath, EVERYTHING] : [EVERYTHING];
      const c = new Client({ name: 'asks-back', version: '1' }, { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } });
      const asked: string[] = [];
      c.setRequestHandler(CreateMessageRequestSchema, async (request) => {
        asked.push('sampling');
        const first = request.params.messages[0]!.content;
        return { model: 'test-model', role: 'assistant' as const, content: { type: 'text' as const, text: `sampled: ${'text' in first ? first.text : ''}` } };
      });
      c.setRequestHandler(ElicitRequestSchema, async () => {
        asked.push('elicitation');
        return { action: 'accept' as const, content: { color: 'blue' } };
      });
      c.setRequestHandler(ListRootsRequestSchema, async () => {
        asked.push('roots');
        return { roots: [{ uri: 'file:///work', name: 'work' }] };
      });
      await c.connect(new StdioClientTransport({ command: process.execPath, args, stderr: 'pipe' }));
      open.push(c);
      const answers = {
        roots: await c.callTool({ name: 'get-roots-list', arguments: {} }),
        elicitation: await c.callTool({ name: 'trigger-elicitation-request', arguments: {} }),
        sampling: await c.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'say hi', maxTokens: 10 } }),
      };
      return { answers, asked };
    };
    const direct = await ask();
    const wrapped = await ask(['--spool', spool]);
    expect(wrapped).toEqual(direct);
    expect(wrapped.asked).toEqual(expect.arrayContaining(['roots', 'elicitation', 'sampling']));
    // The server quotes what our sampling handler answered: the request went out and the reply came back.
    expect(JSON.stringify(wrapped.answers.sampling)).toContain('sampled: Resource trigger-sampling-request context: say hi');
    while (open.length) await open.pop()!.close();
    const records = await until(() => {
      const r = spooled(spool).filter((x) => x.execution_id);
      return r.length === 3 && r;
    });
    expect(records.map((r) => [r.tool.name, r.status]).sort()).toEqual([
      ['get-roots-list', 'succeeded'], ['trigger-elicitation-request', 'succeeded'], ['trigger-sampling-request', 'succeeded'],
    ]);
  });

  it('--annotate-errors: an error result carries its execution id, which traces the call; every other message is byte for byte the server\'s', async () => {
    const spool = tempDir();
    const { client: c } = await client(EVERYTHING, ['--spool', spool, '--annotate-errors', '--user', 'u_agent']);
    const failed = await c.callTool({ name: 'get-sum', arguments: { a: 'two' } });
    expect(failed.isError).toBe(true);
    const id = (failed._meta as Record<string, string>)['mcp-blackbox/execution_id'];
    expect(id).toMatch(/^wrap-[0-9a-f-]+-1$/);
    const ok = await c.callTool({ name: 'echo', arguments: { message: 'fine' } });
    expect(ok._meta).toBeUndefined();
    await c.close();
    await until(() => spooled(spool).filter((x) => x.execution_id).length === 2);
    const store = await openTestStore(new Date(Date.now() + 60_000).toISOString());
    await ingestFiles(store, [spool]);
    const trace = await call(await connect(store, { id: 'u_agent', role: 'member' }), 'trace_execution', { execution_id: id });
    expect(trace.structuredContent.execution).toMatchObject({ execution_id: id, tool: 'get-sum', status: 'failed', error_type: 'tool_error' });

    // Raw stdio, the same requests to the server alone and through wrap --annotate-errors.
    const raw = (args: string[]) => {
      const requests = [
        { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } },
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: 'bytes' } } },
        { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'get-sum', arguments: { a: 1, b: 2 } } },
        { jsonrpc: '2.0', id: 4, method: 'tools/list' },
        { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'no-such-tool', arguments: {} } },
      ];
      const run = spawnSync(process.execPath, args, { input: requests.map((r) => JSON.stringify(r)).join('\n') + '\n', encoding: 'utf8', timeout: 20_000 });
      // The responses, as the lines that carried them (notifications come when the server likes).
      const lines = run.stdout.split('\n').filter((l) => l.startsWith('{'));
      const response = (id: number) => lines.find((l) => (JSON.parse(l) as { id?: number }).id === id);
      return { successes: [2, 3, 4].map(response), error: JSON.parse(response(5)!) };
    };
    const direct = raw([EVERYTHING]);
    const wrapped = raw([CLI, 'wrap', '--spool', tempDir(), '--annotate-errors', '--', process.execPath, EVERYTHING]);
    expect(direct.successes.every(Boolean)).toBe(true);
    expect(wrapped.successes).toEqual(direct.successes);
    // The error result differs by the id in its _meta, and only by that.
    expect(wrapped.error.result._meta['mcp-blackbox/execution_id']).toMatch(/^wrap-[0-9a-f-]+-3$/);
    delete wrapped.error.result._meta;
    expect(wrapped.error).toEqual(direct.error);
  });

  it('server-memory through wrap: a knowledge-graph session recorded, payloads cut at the cap with a marker', async () => {
    const spool = tempDir();
    const memoryFile = join(tempDir(), 'memory.jsonl');
    const { client: c } = await client(MEMORY, ['--spool', spool, '--payload-cap', '1KiB'], { MEMORY_FILE_PATH: memoryFile, MCP_BLACKBOX_USER: 'u_env' });
    const long = 'x'.repeat(5000);
    await c.callTool({ name: 'create_entities', arguments: { entities: [{ name: 'Ana', entityType: 'person', observations: ['runs revops', long] }] } });
    const graph = await c.callTool({ name: 'read_graph', arguments: {} });
    expect(JSON.stringify(graph)).toContain('runs revops');
    await c.close();
    const records = await until(() => {
      const r = spooled(spool).filter((x) => x.execution_id);
      return r.length === 2 && r;
    });
    expect(records.map((r) => [r.tool.name, r.tool.server, r.status, r.user.id])).toEqual([
      ['create_entities', 'memory-server', 'succeeded', 'u_env'],
      ['read_graph', 'memory-server', 'succeeded', 'u_env'],
    ]);
    expect(records[0]!.input).toMatchObject({ _truncated: true, _kept_bytes: 1024 });
    expect(records[0]!.input._original_bytes).toBeGreaterThan(5000);
    expect(Buffer.byteLength(records[0]!.input.preview)).toBeLessThanOrEqual(1024);
    expect(records[1]!.output).toMatchObject({ _truncated: true });
  });

  it('the server killed mid-call: the call is terminated, wrap exits with the signal, and the client sees the end', async () => {
    const spool = tempDir();
    const { client: c, transport } = await client(EVERYTHING, ['--spool', spool]);
    const closed = new Promise<void>((resolve) => (c.onclose = () => resolve()));
    const pending = c.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 20, steps: 20 } }).then(() => 'finished', () => 'rejected');
    const wrapPid = transport.pid!;
    const childPid = await until(() => {
      const found = spawnSync('pgrep', ['-P', String(wrapPid)], { encoding: 'utf8' }).stdout.trim();
      return found ? Number(found.split('\n')[0]) : undefined;
    });
    await new Promise((r) => setTimeout(r, 300));
    process.kill(childPid, 'SIGKILL');
    await closed;
    expect(await pending).toBe('rejected');
    const records = await until(() => spooled(spool).filter((x) => x.execution_id).length === 1 && spooled(spool).filter((x) => x.execution_id));
    expect(records[0]).toMatchObject({ status: 'terminated', tool: { name: 'trigger-long-running-operation' }, error: { type: 'server_exited', layer: 'platform' } });
    expect(records[0]!.error.message).toContain('SIGKILL');
  });

  it("the child's exit code is wrap's; a command that cannot start is 127; stdin closing stops the child", () => {
    const exits = spawnSync(process.execPath, [CLI, 'wrap', '--spool', tempDir(), '--', process.execPath, '-e', 'process.exit(3)'], { input: '' });
    expect(exits.status).toBe(3);
    // Flags that cannot work are refused before the server starts, with what to give instead.
    const badUrl = spawnSync(process.execPath, [CLI, 'wrap', '--to', 'localhost:8765', '--', process.execPath, '-e', ''], { input: '', encoding: 'utf8' });
    expect(badUrl.status).toBe(2);
    expect(badUrl.stderr).toContain('--to must be the URL of an mcp-blackbox HTTP server, like http://127.0.0.1:8765; got "localhost:8765"');
    const badCap = spawnSync(process.execPath, [CLI, 'wrap', '--payload-cap', 'lots', '--', process.execPath, '-e', ''], { input: '', encoding: 'utf8' });
    expect(badCap.status).toBe(2);
    expect(badCap.stderr).toContain('--payload-cap must be a size of at least 256 bytes, like 64KiB; got "lots"');
    const badDelays = spawnSync(process.execPath, [CLI, 'wrap', '--retry-delays', '1s', '--', process.execPath, '-e', ''], { input: '', encoding: 'utf8' });
    expect(badDelays.stderr).toContain('--retry-delays takes waits in milliseconds, comma-separated');
    const missing = spawnSync(process.execPath, [CLI, 'wrap', '--spool', tempDir(), '--', '/no/such/server'], { input: '', encoding: 'utf8' });
    expect(missing.status).toBe(127);
    expect(missing.stderr).toContain('wrap: cannot start /no/such/server');
    // With --annotate-errors wrap reads the server line by line: a last line without a newline still arrives.
    const unterminated = spawnSync(process.execPath, [CLI, 'wrap', '--spool', tempDir(), '--annotate-errors', '--', process.execPath, '-e', 'process.stdout.write(\'{"jsonrpc":"2.0","method":"notifications/message"}\')'], { input: '', encoding: 'utf8' });
    expect(unterminated.stdout).toBe('{"jsonrpc":"2.0","method":"notifications/message"}');
    // A server that ignores the end of its stdin is stopped anyway once the client is gone.
    const stubborn = spawnSync(process.execPath, [CLI, 'wrap', '--spool', tempDir(), '--', process.execPath, '-e', 'process.stdin.resume(); setInterval(() => {}, 1000)'], { input: '', timeout: 15_000 });
    expect(stubborn.status).toBe(128 + 15);
  });
});

describe('wrap delivers to the server that owns the database, and never loses a record', () => {
  it('server down: records go to the spool; the server then ingests the spool; server up: records go over HTTP; nothing twice', async () => {
    const spool = tempDir();
    const db = join(tempDir(), 'owned.duckdb');
    // A port nothing listens on yet.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    const down = await client(EVERYTHING, ['--spool', spool, '--to', url, '--retry-delays', '50,50', '--user', 'u_a']);
    await down.client.callTool({ name: 'echo', arguments: { message: 'while down' } });
    await down.client.close();
    const spooledWhileDown = await until(() => spooled(spool).filter((x) => x.execution_id).length === 1 && spooled(spool));

    const server = spawn(process.execPath, [CLI, 'serve', '--db', db, '--http', `127.0.0.1:${port}`, '--spool', spool], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    server.stderr.on('data', (d) => (stderr += d));
    try {
      await until(() => stderr.includes('serving HTTP'));
      const count = async () => (await (await fetch(`${url}/healthz`)).json()) as { executions?: number };
      const executions = async () => {
        const deadline = Date.now() + 15_000;
        for (;;) {
          const n = (await count()).executions ?? 0;
          if (n >= 1 || Date.now() > deadline) return n;
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      expect(await executions()).toBe(1);

      const up = await client(EVERYTHING, ['--spool', spool, '--to', url, '--user', 'u_a']);
      await up.client.callTool({ name: 'echo', arguments: { message: 'while up' } });
      await up.client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
      await up.client.close();
      const deadline = Date.now() + 15_000;
      while (((await count()).executions ?? 0) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect((await count()).executions).toBe(3);
      // Over HTTP, not through the spool: the spool still holds only what was written while down.
      expect(spooled(spool).filter((x) => x.execution_id)).toEqual(spooledWhileDown.filter((x) => x.execution_id));
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    // Read again after the server stopped, the spool adds nothing: every record is stored once.
    const again = JSON.parse(execFileSync(process.execPath, [CLI, 'ingest', spool, '--db', db, '--json'], { encoding: 'utf8' }));
    expect(again).toMatchObject({ inserted: 0 });
  });
});
