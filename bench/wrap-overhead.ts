#!/usr/bin/env node
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

/**
 * What `wrap` adds to a tools/call: the same real server (server-everything's echo tool) reached
 * directly and through `mcp-blackbox wrap` (recording to a spool directory), over stdio from the
 * SDK client, in alternating rounds so that a drift of the machine touches both alike.
 *
 * `node dist-bench/bench/wrap-overhead.js --calls 2000 --rounds 4`
 */
export interface WrapOverheadResult {
  calls: number;
  rounds: number;
  direct: { p50: number; p99: number };
  wrapped: { p50: number; p99: number };
  addedP50: number;
  addedP99: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, '..', '..', 'dist', 'cli', 'main.js');

function serverPath(): string {
  return createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
}

async function timeEcho(command: string[], calls: number): Promise<number[]> {
  const transport = new StdioClientTransport({ command: process.execPath, args: command, stderr: 'ignore' });
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  try {
    for (let i = 0; i < 50; i++) await client.callTool({ name: 'echo', arguments: { message: `warm ${i}` } });
    const samples: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      await client.callTool({ name: 'echo', arguments: { message: `call ${i}` } });
      samples.push(performance.now() - t);
    }
    return samples;
  } finally {
    await client.close();
  }
}

const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
const ms = (x: number) => Math.round(x * 1000) / 1000;

export async function benchWrapOverhead(options: { calls: number; rounds: number }): Promise<WrapOverheadResult> {
  const server = serverPath();
  const spool = mkdtempSync(join(tmpdir(), 'blackbox-wrap-bench-'));
  const direct: number[] = [];
  const wrapped: number[] = [];
  try {
    for (let round = 0; round < options.rounds; round++) {
      const wrapCommand = [CLI, 'wrap', '--spool', spool, '--user', 'bench', '--', process.execPath, server];
      const order = round % 2 === 0 ? ['direct', 'wrapped'] : ['wrapped', 'direct'];
      for (const which of order) {
        if (which === 'direct') direct.push(...(await timeEcho([server], options.calls)));
        else wrapped.push(...(await timeEcho(wrapCommand, options.calls)));
      }
    }
  } finally {
    rmSync(spool, { recursive: true, force: true });
  }
  direct.sort((a, b) => a - b);
  wrapped.sort((a, b) => a - b);
  const d = { p50: ms(at(direct, 0.5)), p99: ms(at(direct, 0.99)) };
  const w = { p50: ms(at(wrapped, 0.5)), p99: ms(at(wrapped, 0.99)) };
  return { calls: options.calls, rounds: options.rounds, direct: d, wrapped: w, addedP50: ms(w.p50 - d.p50), addedP99: ms(w.p99 - d.p99) };
}

export function wrapOverheadMarkdown(r: WrapOverheadResult, command: string): string[] {
  return [
    `server-everything's \`echo\` over stdio from the SDK client, ${r.calls} calls per round, ${r.rounds} rounds alternating direct and through \`wrap\` (recording to a spool directory) (\`${command}\`):`,
    '',
    '| | p50 ms | p99 ms |',
    '| --- | ---: | ---: |',
    `| direct | ${r.direct.p50} | ${r.direct.p99} |`,
    `| through wrap | ${r.wrapped.p50} | ${r.wrapped.p99} |`,
    `| added | **${r.addedP50}** | ${r.addedP99} |`,
    '',
    `Target: < 1 ms added at p50: ${r.addedP50 < 1 ? 'met' : 'not met'}.`,
  ];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { calls: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '4' } } });
  const result = await benchWrapOverhead({ calls: Number(values.calls), rounds: Number(values.rounds) });
  process.stdout.write(`${wrapOverheadMarkdown(result, `node dist-bench/bench/wrap-overhead.js --calls ${values.calls} --rounds ${values.rounds}`).join('\n')}\n`);
}
