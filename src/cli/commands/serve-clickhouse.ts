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
import { httpCallers, onShutdown, stdioCaller, type ServeFlags } from './serve.js';
import { parseListen, startHttpServer } from '../../http/server.js';
import { clickhouseIngestTarget } from '../../http/ingest-target.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * `serve --store clickhouse://...`: MCP over stdio, or with --http the HTTP server (ingest, MCP
 * over Streamable HTTP, the dashboard, /healthz), on a shared ClickHouse store: as many
 * instances as the fleet needs, each with its own audit hash chain, each refreshing the rollup.
 * What needs state only the DuckDB store keeps so far (alerts, export, watched files, OTLP) is
 * refused at start, by name.
 */
export async function serveClickHouse(location: StoreLocation & { engine: 'clickhouse' | 'chdb' }, config: Config, flags: ServeFlags): Promise<void> {
  const unsupported = [
    flags.watch?.length && '--watch', flags.alerts && '--alerts', flags.export?.length && '--export', flags.otlpGrpc && '--otlp-grpc',
  ].filter(Boolean);
  if (unsupported.length) {
    throw new UserInputError(`serve on a ClickHouse store does not take ${unsupported.join(', ')} yet: ${unsupported.length === 1 ? 'it needs' : 'they need'} a DuckDB store (--db). Send records to POST /v1/executions (serve --http) or load files with mcp-blackbox ingest --store.`);
  }
  // The flags are checked before anything is opened: a wrong one must not leave a half-started instance.
  const listen = flags.http ? parseListen(flags.http) : undefined;
  const callers = flags.http ? httpCallers(flags) : undefined;
  const store = await ClickHouseStore.open(location, config.clock);
  const audit = new ClickHouseAuditStorage(store.ch);
  // Every instance refreshes the rollup: a refresh is a complete recount, so two at once cost
  // work, never exactness (store/clickhouse/rollup.ts).
  const rollup = new RollupRefresher(store.ch, { intervalMs: 30_000, settleMs: 60_000, log });
  try {
    if (flags.catalog) log(`catalog: ${await loadCatalogFile(store, flags.catalog)} tools from ${flags.catalog}`);
    const common = {
      clock: config.clock,
      log,
      audit: new AuditLog(audit, { key: config.auditKey }),
      access: { redactSecrets: config.redactSecrets },
      tz: config.tz,
      analytics: clickhouseAnalytics(store.ch),
    };
    const where = `store ${describeStoreLocation(location)}, audit chain ${audit.chainId}`;
    if (listen && callers) {
      const running = await startHttpServer(listen, {
        ...common,
        ingest: clickhouseIngestTarget(store),
        auth: callers.auth,
        webhookSecrets: callers.secrets,
        extraHostnames: flags.allowedHost,
        publicUrl: flags.publicUrl,
      });
      onShutdown(async () => {
        await running.close();
        await rollup.stop();
        await audit.close();
        await store.close();
      }, { onStdinEnd: false });
      rollup.start();
      log(`mcp-blackbox serving HTTP on ${running.url} (${where}): GET / (dashboard), POST /mcp (MCP Streamable HTTP), POST /v1/executions, GET /healthz\n${running.banner}`);
      return;
    }
    const caller = stdioCaller(flags, process.env);
    const server = createServer({ ...common, caller });
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
    log(`mcp-blackbox serving MCP on stdio as ${caller.id} (${caller.role}), ${where}`);
  } catch (error) {
    await rollup.stop();
    await audit.close().catch(() => undefined);
    await store.close();
    throw error;
  }
  await new Promise<never>(() => undefined);
}
