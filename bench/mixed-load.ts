#!/usr/bin/env node
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { BENCH_ANCHOR, liveRecord, writeDataset } from './dataset.js';
import { percentiles, type Percentiles } from './latency.js';
import { runMeasured } from './proc.js';

/**
 * Ingest under tool traffic, against a real `serve --http` process: ingest clients post NDJSON
 * batches as fast as the server takes them, alone and then with tool clients calling tools
 * (trace_execution among them, which writes an audit event per call) through the SDK client.
 * Each round runs both phases, in alternating order, so that a drift of the machine or the growth
 * of the store touches both alike.
 *
 * `node dist-bench/bench/mixed-load.js --seconds 15 --rounds 4 --ingest-clients 8 --tool-clients 4`
 */
export interface MixedLoadOptions {
  seconds: number;
  rounds: number;
  ingestClients: number;
  toolClients: number;
  batch: number;
  /** The CLI to serve with (another build, to compare before and after). */
  cli?: string;
}

interface Phase {
  executionsPerSecond: number;
  status503: number;
  ingestP95Ms: number;
  toolCalls: number;
  tool?: Percentiles;
  toolErrors: number;
}

export interface MixedLoadResult {
  options: MixedLoadOptions;
  rounds: Array<{ alone: Phase; mixed: Phase; ratio: number }>;
  medianRatio: number;
}

const here = dirname(fileURLToPath(import.meta.url));

async function startServer(cli: string, dbPath: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, 'serve', '--db', dbPath, '--http', '127.0.0.1:0', '--now', BENCH_ANCHOR], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let stderr = '';
    child.stderr!.on('data', (chunk) => {
      stderr += String(chunk);
      const match = /serving HTTP on (http:\/\/[^\s:]+:\d+)/.exec(stderr);
      if (match) resolveUrl(match[1]!);
    });
    child.once('exit', () => reject(new Error(`server exited: ${stderr}`)));
  });
  return { child, url };
}

export async function benchMixedLoad(options: MixedLoadOptions): Promise<MixedLoadResult> {
  const cli = options.cli ?? resolve(here, '..', '..', 'dist', 'cli', 'main.js');
  const dir = mkdtempSync(join(tmpdir(), 'blackbox-mixed-'));
  const dbPath = join(dir, 'mixed.duckdb');
  // A fleet for the tools to read: 100k executions of the sample generator.
  const file = join(dir, 'fleet.jsonl');
  await writeDataset(file, 100_000);
  const ingest = await runMeasured(process.execPath, [cli, 'ingest', file, '--db', dbPath, '--now', BENCH_ANCHOR]);
  if (ingest.code !== 0) throw new Error(`ingest failed: ${ingest.stderr}`);
  const { child, url } = await startServer(cli, dbPath);
  const clients: Client[] = [];
  try {
    for (let i = 0; i < options.toolClients; i++) {
      const client = new Client({ name: `mixed-${i}`, version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
      clients.push(client);
    }
    const listed = await clients[0]!.callTool({ name: 'list_executions', arguments: { window: '7d', status: 'failed', limit: 50 } });
    const ids = ((listed.structuredContent as { executions: Array<{ execution_id: string }> }).executions ?? []).map((e) => e.execution_id);
    if (ids.length === 0) throw new Error('no executions to trace');
    const calls: Array<[string, Record<string, unknown>]> = [
      ['trace_execution', {}],
      ['usage_summary', { window: '7d' }],
      ['trace_execution', {}],
      ['list_executions', { window: '24h', limit: 20 }],
      ['trace_execution', {}],
      ['failure_report', { window: '7d' }],
    ];

    let sequence = 0;
    const runPhase = async (withTools: boolean): Promise<Phase> => {
      const deadline = performance.now() + options.seconds * 1000;
      let executions = 0;
      let status503 = 0;
      const ingestLatencies: number[] = [];
      const toolLatencies: number[] = [];
      let toolErrors = 0;
      const ingestWorker = async (worker: number) => {
        while (performance.now() < deadline) {
          const batch = sequence++;
          const started = Date.parse(BENCH_ANCHOR) - 3_600_000 + (batch % 3600) * 1000;
          const body = Array.from({ length: options.batch }, (_, i) => liveRecord(`mix_${worker}_${batch}_${i}`, started + i, i % 20 === 0 ? 'failed' : 'succeeded', i)).join('\n');
          const t = performance.now();
          const res = await fetch(`${url}/v1/executions`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
          if (res.status === 503) {
            status503++;
            await res.arrayBuffer();
            await new Promise((r) => setTimeout(r, 100));
            continue;
          }
          if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
          const reply = (await res.json()) as { accepted: number };
          ingestLatencies.push(performance.now() - t);
          executions += reply.accepted;
        }
      };
      const toolWorker = async (client: Client, worker: number) => {
        for (let i = worker; performance.now() < deadline; i++) {
          const [name, args] = calls[i % calls.length]!;
          const t = performance.now();
          const result = await client.callTool({ name, arguments: name === 'trace_execution' ? { execution_id: ids[i % ids.length] } : args });
          toolLatencies.push(performance.now() - t);
          if (result.isError) toolErrors++;
        }
      };
      const started = performance.now();
      await Promise.all([
        ...Array.from({ length: options.ingestClients }, (_, w) => ingestWorker(w)),
        ...(withTools ? clients.map((c, w) => toolWorker(c, w)) : []),
      ]);
      const seconds = (performance.now() - started) / 1000;
      return {
        executionsPerSecond: Math.round(executions / seconds),
        status503,
        ingestP95Ms: percentiles(ingestLatencies).p95,
        toolCalls: toolLatencies.length,
        tool: toolLatencies.length ? percentiles(toolLatencies) : undefined,
        toolErrors,
      };
    };

    const rounds: MixedLoadResult['rounds'] = [];
    for (let round = 0; round < options.rounds; round++) {
      // Alone first in odd rounds, with tools first in even ones: the store grows as it runs, and
      // a phase that always came second would always pay for more of it.
      let alone: Phase;
      let mixed: Phase;
      if (round % 2 === 0) {
        alone = await runPhase(false);
        mixed = await runPhase(true);
      } else {
        mixed = await runPhase(true);
        alone = await runPhase(false);
      }
      rounds.push({ alone, mixed, ratio: Math.round((alone.executionsPerSecond / Math.max(1, mixed.executionsPerSecond)) * 100) / 100 });
    }
    const ratios = rounds.map((r) => r.ratio).sort((a, b) => a - b);
    const middle = ratios.length / 2;
    const medianRatio = ratios.length % 2 ? ratios[Math.floor(middle)]! : (ratios[middle - 1]! + ratios[middle]!) / 2;
    return { options, rounds, medianRatio: Math.round(medianRatio * 100) / 100 };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The bench results section for it. */
export function mixedLoadMarkdown(result: MixedLoadResult, command: string): string[] {
  const o = result.options;
  const out = [
    `${o.ingestClients} ingest clients post NDJSON batches of ${o.batch} to a \`serve --http\` process as fast as it takes them, ${o.seconds} s alone, then ${o.seconds} s with ${o.toolClients} tool clients (SDK client over HTTP; half their calls are trace_execution, which audits each view) (\`${command}\`).`,
    '',
    '| round | ingest alone (executions/s) | with tools | alone / with tools | 503s alone / with tools | ingest p95 ms alone / with tools | tool calls | tool p50 / p95 ms | tool errors |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  result.rounds.forEach((r, i) => {
    out.push(
      `| ${i + 1} | ${r.alone.executionsPerSecond} | ${r.mixed.executionsPerSecond} | ${r.ratio.toFixed(2)}x | ${r.alone.status503} / ${r.mixed.status503} | ${r.alone.ingestP95Ms} / ${r.mixed.ingestP95Ms} | ${r.mixed.toolCalls} | ${r.mixed.tool?.p50 ?? '-'} / ${r.mixed.tool?.p95 ?? '-'} | ${r.mixed.toolErrors} |`,
    );
  });
  out.push('', `Median slowdown of ingest under tool traffic: **${result.medianRatio.toFixed(2)}x** (target ≤ 2x).`, '');
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '15' },
      rounds: { type: 'string', default: '4' },
      'ingest-clients': { type: 'string', default: '8' },
      'tool-clients': { type: 'string', default: '4' },
      batch: { type: 'string', default: '500' },
      cli: { type: 'string' },
    },
  });
  const result = await benchMixedLoad({
    seconds: Number(values.seconds),
    rounds: Number(values.rounds),
    ingestClients: Number(values['ingest-clients']),
    toolClients: Number(values['tool-clients']),
    batch: Number(values.batch),
    cli: values.cli,
  });
  process.stdout.write(`${mixedLoadMarkdown(result, `node dist-bench/bench/mixed-load.js ${process.argv.slice(2).join(' ')}`.trim()).join('\n')}\n`);
}
