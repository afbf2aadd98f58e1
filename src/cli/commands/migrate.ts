import { resolve } from 'node:path';
import { UserInputError } from '../../errors.js';
import { ClickHouseStore } from '../../store/clickhouse/store.js';
import { copyFromDuckDb, copyVerified, type CopyReport } from '../../store/clickhouse/copy-from-duckdb.js';
import { describeStoreLocation, parseStoreLocation } from '../../store/store-url.js';
import { Store } from '../../store/store.js';
import { requireDatabase, resolveConfig, storeOptions } from '../config.js';
import { EXIT_OK, EXIT_PARTIAL } from '../exit-codes.js';

const n = (value: number): string => value.toLocaleString('en-US');

/**
 * mcp-blackbox migrate --from X.duckdb --to clickhouse://...: the executions (with their steps),
 * quarantine and catalog of a DuckDB file copied into an empty ClickHouse database, verified by
 * counts. The DuckDB file is opened as its owner: stop the serve that holds it first.
 */
export async function migrateCommand(flags: { from: string; to: string; json?: boolean }): Promise<number> {
  const target = parseStoreLocation(flags.to);
  if (target.engine === 'duckdb') throw new UserInputError(`--to ${flags.to} is a DuckDB path: migrate copies a DuckDB file into ClickHouse; write --to clickhouse://user:pass@host:8123/db.`);
  const config = resolveConfig({ db: resolve(flags.from) }, {});
  requireDatabase(config);
  const from = await Store.open(storeOptions(config));
  try {
    const to = await ClickHouseStore.open(target, config.clock);
    try {
      const started = performance.now();
      const report = await copyFromDuckDb(from, to.ch, {
        onProgress: (copied, total) => {
          if (!flags.json && process.stderr.isTTY) process.stderr.write(`\rcopied ${n(copied)} of ${n(total)} executions`);
        },
      });
      if (!flags.json && process.stderr.isTTY) process.stderr.write('\n');
      const seconds = (performance.now() - started) / 1000;
      const verified = copyVerified(report);
      process.stdout.write(flags.json ? `${JSON.stringify({ ...report, verified, seconds }, null, 2)}\n` : formatReport(report, verified, seconds, config.dbPath, describeStoreLocation(target)));
      return verified ? EXIT_OK : EXIT_PARTIAL;
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
}

function formatReport(report: CopyReport, verified: boolean, seconds: number, from: string, to: string): string {
  const line = (label: string, counts: { duckdb: number; clickhouse: number }) =>
    `  ${label.padEnd(20)}${n(counts.duckdb).padStart(14)}${n(counts.clickhouse).padStart(14)}${counts.duckdb === counts.clickhouse ? '' : '   MISMATCH'}`;
  return [
    `Copied ${from} into ${to} in ${seconds.toFixed(1)} s.`,
    `  ${''.padEnd(20)}${'DuckDB'.padStart(14)}${'ClickHouse'.padStart(14)}`,
    line('executions', report.executions),
    ...Object.entries(report.by_status).sort().map(([status, counts]) => line(`  ${status}`, counts)),
    line('quarantined lines', report.quarantine),
    line('calls from metrics', report.metric_calls),
    `  catalog tools copied ${n(report.catalog_tools)}`,
    verified ? 'Verified: every count matches.' : 'NOT verified: the counts differ (see MISMATCH); run migrate again into an empty database.',
    '',
  ].join('\n');
}
