#!/usr/bin/env node
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AuditLog } from '../src/access/audit.js';
import { systemClock } from '../src/clock.js';
import { Exporter, SinkRunner } from '../src/export/exporter.js';
import { parseSink, type SinkConfig } from '../src/export/sinks.js';
import { ingestLines } from '../src/ingest/batch.js';
import { blockFromText } from '../src/ingest/lines.js';
import { generateLines } from '../src/sample/generate.js';
import { Store } from '../src/store/store.js';

/**
 * What the SIEM export costs: events per second per sink type (each draining a store from its
 * start, to receivers on loopback that accept everything), and the ingest rate with all four
 * sinks running against none (rounds alternate, on fresh stores).
 * `node dist-bench/bench/export-throughput.js --executions 100000 --ingest 200000 --rounds 3`
 */

interface Receivers {
  http: string;
  tcpPort: number;
  close: () => Promise<void>;
}

async function receivers(): Promise<Receivers> {
  const http: Server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(req.url?.includes('collector') ? '{"text":"Success","code":0}' : '{}'));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const tcp: TcpServer = createTcpServer((socket) => socket.resume());
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  return {
    http: `http://127.0.0.1:${(http.address() as { port: number }).port}`,
    tcpPort: (tcp.address() as { port: number }).port,
    close: async () => {
      http.closeAllConnections();
      await Promise.all([new Promise((r) => http.close(r)), new Promise((r) => tcp.close(r))]);
    },
  };
}

function sinksFor(r: Receivers, dir: string): Map<string, SinkConfig> {
  return new Map([
    ['syslog-tcp', parseSink('syslog-tcp', { type: 'syslog', host: '127.0.0.1', port: r.tcpPort })],
    ['hec', parseSink('hec', { type: 'hec', url: r.http, token: 'bench' })],
    ['otlp-logs', parseSink('otlp-logs', { type: 'otlp_logs', url: `${r.http}/v1/logs` })],
    ['file', parseSink('file', { type: 'file', dir, max_bytes: '1GB' })],
  ]);
}

function fleetLines(executions: number): string[] {
  return [...generateLines({ anchor: new Date().toISOString(), days: Math.ceil(executions / 250) + 1, perWeekday: 330, spike: false })].slice(0, executions);
}

async function ingestAll(store: Store, lines: string[], batch: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < lines.length; i += batch) await ingestLines(store, blockFromText(lines.slice(i, i + batch).join('\n')), 'bench');
  return (performance.now() - started) / 1000;
}

export interface ExportThroughputResult {
  executions: number;
  perSink: Record<string, { events: number; seconds: number; perSecond: number }>;
  ingest: { executions: number; batch: number; off: number[]; on: number[]; slowdown: number };
}

export async function benchExportThroughput(options: { executions: number; ingest: number; batch: number; rounds: number }): Promise<ExportThroughputResult> {
  const dir = mkdtempSync(join(tmpdir(), 'blackbox-export-bench-'));
  const r = await receivers();
  try {
    // Throughput: one store, each sink drains it from the start.
    const store = await Store.open({ path: join(dir, 'throughput.duckdb'), clock: systemClock, memoryLimit: '1GB' });
    await ingestAll(store, fleetLines(options.executions), 5000);
    const perSink: ExportThroughputResult['perSink'] = {};
    for (const [name, sink] of sinksFor(r, join(dir, 'files'))) {
      const runner = new SinkRunner(store, name, { ...sink, streams: ['executions'] });
      const started = performance.now();
      const events = await runner.drain();
      const seconds = (performance.now() - started) / 1000;
      await runner.stop();
      perSink[name] = { events, seconds: Math.round(seconds * 10) / 10, perSecond: Math.round(events / seconds) };
    }
    await store.close();

    // Ingest with the four sinks on against off, alternating, each round on a fresh store.
    const lines = fleetLines(options.ingest);
    const off: number[] = [];
    const on: number[] = [];
    for (let round = 0; round < options.rounds * 2; round++) {
      const withSinks = round % 2 === 1;
      const path = join(dir, `ingest-${round}.duckdb`);
      const s = await Store.open({ path, clock: systemClock, memoryLimit: '1GB' });
      const exporter = withSinks ? new Exporter(s, sinksFor(r, join(dir, `files-${round}`)), { pollMs: 200 }) : undefined;
      await exporter?.start(new AuditLog(s));
      const seconds = await ingestAll(s, lines, options.batch);
      await exporter?.stop();
      await s.close();
      rmSync(path, { force: true });
      (withSinks ? on : off).push(Math.round(options.ingest / seconds));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    return {
      executions: options.executions,
      perSink,
      ingest: { executions: options.ingest, batch: options.batch, off, on, slowdown: Math.round((1 - median(on) / median(off)) * 1000) / 10 },
    };
  } finally {
    await r.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function exportThroughputMarkdown(r: ExportThroughputResult, command: string): string[] {
  const f = (n: number) => n.toLocaleString('en-US');
  return [
    `Each sink drains a store of ${f(r.executions)} executions from its start (policy masked, batches of 500, receivers on loopback that accept everything; syslog over TCP), then ingest in batches of ${f(r.ingest.batch)} (as the watcher and HTTP commit them) of ${f(r.ingest.executions)} executions with the four sinks running against none, rounds alternating on fresh stores (\`${command}\`):`,
    '',
    '| sink | events | seconds | events/s |',
    '| --- | ---: | ---: | ---: |',
    ...Object.entries(r.perSink).map(([name, s]) => `| ${name} | ${f(s.events)} | ${s.seconds} | ${f(s.perSecond)} |`),
    '',
    `Ingest executions/s, sinks off: ${r.ingest.off.map(f).join(' / ')}; all four on: ${r.ingest.on.map(f).join(' / ')}. Slowdown (medians): **${r.ingest.slowdown}%** (target ≤ 10%).`,
  ];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { executions: { type: 'string', default: '100000' }, ingest: { type: 'string', default: '200000' }, batch: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '3' } } });
  const result = await benchExportThroughput({ executions: Number(values.executions), ingest: Number(values.ingest), batch: Number(values.batch), rounds: Number(values.rounds) });
  process.stdout.write(`${exportThroughputMarkdown(result, `node dist-bench/bench/export-throughput.js --executions ${values.executions} --ingest ${values.ingest} --batch ${values.batch} --rounds ${values.rounds}`).join('\n')}\n`);
}
