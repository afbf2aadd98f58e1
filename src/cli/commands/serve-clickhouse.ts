import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { AuditLog } from '../../access/audit.js';
import { clickhouseAnalytics } from '../../analytics/clickhouse/index.js';
import { UserInputError } from '../../errors.js';
import { loadCatalogFile } from '../../ingest/catalog-file.js';
import { createServer } from '../../mcp/server.js';
import { ClickHouseAuditStorage } from '../../store/clickhouse/audit.js';
import { RollupRefresher } from '../../store/clickhouse/rollup.js';
import { ClickHouseStore } from '../../store/clickhouse/store.js';
import { describeStoreLocation, type StoreLocation } from '../../store/store-url.js';
import type { Config } from '../config.js';
import { onShutdown, stdioCaller, type ServeFlags } from './serve.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * `serve --store clickhouse://...`: MCP over stdio on a shared ClickHouse store. The fleet
 * questions and the audited unmask run here, as many instances as there are clients; the audit
 * log keeps this instance's own hash chain. What needs state only the DuckDB store keeps so far
 * (alerts, export, the audit_log tool, watched files, HTTP) is refused at start, by name.
 */
export async function serveClickHouse(location: StoreLocation & { engine: 'clickhouse' | 'chdb' }, config: Config, flags: ServeFlags): Promise<void> {
  const unsupported = [
    flags.http && '--http', flags.watch?.length && '--watch', flags.alerts && '--alerts', flags.export?.length && '--export', flags.otlpGrpc && '--otlp-grpc',
  ].filter(Boolean);
  if (unsupported.length) {
    throw new UserInputError(`serve on a ClickHouse store runs MCP over stdio only so far: ${unsupported.join(', ')} need${unsupported.length === 1 ? 's' : ''} a DuckDB store (--db). Ingest into ClickHouse with mcp-blackbox ingest --store.`);
  }
  const store = await ClickHouseStore.open(location, config.clock);
  const audit = new ClickHouseAuditStorage(store.ch);
  // Every instance refreshes the rollup: a refresh is a complete recount, so two at once cost
  // work, never exactness (store/clickhouse/rollup.ts).
  const rollup = new RollupRefresher(store.ch, { intervalMs: 30_000, settleMs: 60_000, log });
  try {
    if (flags.catalog) log(`catalog: ${await loadCatalogFile(store, flags.catalog)} tools from ${flags.catalog}`);
    const caller = stdioCaller(flags, process.env);
    const server = createServer({
      clock: config.clock,
      caller,
      log,
      audit: new AuditLog(audit, { key: config.auditKey }),
      access: { redactSecrets: config.redactSecrets },
      tz: config.tz,
      analytics: clickhouseAnalytics(store.ch),
    });
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await server.close().catch(() => undefined);
        await rollup.stop();
        await audit.close();
        await store.close();
      })());
    const transport = new StdioServerTransport();
    transport.onclose = () => void stop().finally(() => process.exit(0));
    onShutdown(stop, { onStdinEnd: true });
    await server.connect(transport);
    rollup.start();
    log(`mcp-blackbox serving MCP on stdio as ${caller.id} (${caller.role}), store ${describeStoreLocation(location)}, audit chain ${audit.chainId}`);
  } catch (error) {
    await rollup.stop();
    await audit.close().catch(() => undefined);
    await store.close();
    throw error;
  }
  await new Promise<never>(() => undefined);
}
