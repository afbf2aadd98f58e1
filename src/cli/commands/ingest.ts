import { loadCatalogFile, type CatalogSink } from '../../ingest/catalog-file.js';
import { expandInputs, ingestFiles, ingestFilesInto, type FileIngestSummary } from '../../ingest/files.js';
import { IngestProgress } from '../progress.js';
import { quarantinedTotal } from '../../ingest/batch.js';
import { sweepStaleScratch } from '../../scratch.js';
import { Store } from '../../store/store.js';
import { resolveConfig, storeOptions, type CommonFlags } from '../config.js';
import { ClickHouseStore } from '../../store/clickhouse/store.js';
import { describeStoreLocation } from '../../store/store-url.js';
import { EXIT_OK, EXIT_PARTIAL } from '../exit-codes.js';

type Flags = { json?: boolean; catalog?: string; quiet?: boolean };
type IngestInto = (paths: string[], onRead: ((path: string, read: { bytes: number; lines: number }) => void) | undefined) => Promise<FileIngestSummary>;

export async function ingestCommand(inputs: string[], flags: CommonFlags & Flags): Promise<number> {
  const config = resolveConfig(flags, process.env, { clickhouse: true });
  if (config.store.engine === 'duckdb') {
    sweepStaleScratch();
    const store = await Store.open(storeOptions(config));
    return ingestWith(store, (paths, onRead) => ingestFiles(store, paths, { onRead }), config.dbPath, inputs, flags).finally(() => store.close());
  }
  // Into ClickHouse: validated here as for DuckDB, then one insert per batch, the next batch read
  // while the last one is stored. Any number of instances may ingest at once.
  const store = await ClickHouseStore.open(config.store, config.clock);
  return ingestWith(store, (paths, onRead) => ingestFilesInto(store, paths, { onRead }), describeStoreLocation(config.store), inputs, flags).finally(() => store.close());
}

async function ingestWith(store: Store | CatalogSink, ingest: IngestInto, where: string, inputs: string[], flags: Flags): Promise<number> {
  if (flags.catalog) process.stderr.write(`catalog: ${await loadCatalogFile(store, flags.catalog)} tools from ${flags.catalog}\n`);
  const paths = await expandInputs(inputs);
  // A progress line only for a person at a terminal: not in a pipe, a log file or --json output.
  const progress = !flags.quiet && !flags.json && process.stdout.isTTY && process.stderr.isTTY
    ? new IngestProgress(paths, (text) => process.stderr.write(text))
    : undefined;
  const started = performance.now();
  const summary = await ingest(paths, progress && ((path, read) => progress.update(path, read)));
  progress?.finish();
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(flags.json ? `${JSON.stringify({ ...summary, seconds }, null, 2)}\n` : formatIngestSummary(summary, seconds, where));
  return summary.failed.length > 0 ? EXIT_PARTIAL : EXIT_OK;
}

const n = (value: number): string => value.toLocaleString('en-US');

export function formatIngestSummary(summary: FileIngestSummary, seconds: number, dbPath: string): string {
  const rate = seconds > 0 ? Math.round(summary.lines / seconds) : 0;
  const rows: Array<[string, number]> = [
    ['new executions', summary.inserted],
    ['updated (superseded)', summary.updated],
    ['duplicates ignored', summary.duplicates],
    ['quarantined', quarantinedTotal(summary)],
  ];
  const out = [
    `Ingested ${n(summary.files)} file(s), ${n(summary.lines)} lines in ${seconds.toFixed(2)} s (${n(rate)} lines/s) into ${dbPath}`,
    ...rows.map(([label, value]) => `  ${label.padEnd(24)}${n(value).padStart(12)}`),
    ...Object.entries(summary.quarantined)
      .sort((a, b) => b[1] - a[1])
      .map(([reason, count]) => `    ${reason.padEnd(38)}${n(count).padStart(8)}`),
  ];
  if (quarantinedTotal(summary) > 0) out.push('  (see them with: mcp-blackbox quarantine)');
  for (const failure of summary.failed) out.push(`  FAILED ${failure.path}: ${failure.error}`);
  return `${out.join('\n')}\n`;
}
