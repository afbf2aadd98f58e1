import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { AuditLog } from '../../access/audit.js';
import { clickhouseAnalytics } from '../../analytics/clickhouse/index.js';
import { loadCatalogFile } from '../../ingest/catalog-file.js';
import { createServer } from '../../mcp/server.js';
import { ClickHouseAuditStorage } from '../../store/clickhouse/audit.js';
import { RollupRefresher } from '../../store/clickhouse/rollup.js';
import { ClickHouseStore } from '../../store/clickhouse/store.js';
import { describeStoreLocation, type StoreLocation } from '../../store/store-url.js';
import type { Config } from '../config.js';
import { alertsFile, exportSinks, httpCallers, onShutdown, otlpGrpcListen, startTailer, stdioCaller, syncAlertsFile, type ServeFlags } from './serve.js';
import { Exporter } from '../../export/exporter.js';
import type { SinkConfig } from '../../export/sinks.js';
import { clickhouseExportStore, EXPORT_REGISTRY_RENEW_MS } from '../../store/clickhouse/export.js';
import { exportLags, type ExportStore } from '../../export/export-store.js';
import { ClickHouseLease } from '../../store/clickhouse/lease.js';
import type { LeaseKeeper } from '../../store/lease.js';
import { leasedAlerting } from '../../alerts/leased.js';
import { clickhouseAlertStore } from '../../store/clickhouse/alerts.js';
import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import { randomBytes } from 'node:crypto';
import { clickhouseTailSink } from '../../store/clickhouse/checkpoints.js';
import type { LogTailer } from '../../ingest/tailer.js';
import { hostname } from 'node:os';
import { ENV } from '../config.js';
import { parseListen, startHttpServer } from '../../http/server.js';
import { clickhouseIngestTarget } from '../../http/ingest-target.js';
import { startOtlpGrpc } from '../../http/otlp-grpc.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * `serve --store clickhouse://...`: MCP over stdio, or with --http the HTTP server (ingest, MCP
 * over Streamable HTTP, the dashboard, /healthz), on a shared ClickHouse store: as many
 * instances as the fleet needs, each with its own audit hash chain, each refreshing the rollup.
 * Watched files keep read positions per instance; each export sink, and alerting, run on the one
 * instance holding their lease. OTLP over HTTP and gRPC lands through store/clickhouse/otlp.ts.
 */
export async function serveClickHouse(location: StoreLocation & { engine: 'clickhouse' | 'chdb' }, config: Config, flags: ServeFlags): Promise<void> {
  // The flags are checked before anything is opened: a wrong one must not leave a half-started instance.
  const http = flags.http ? { listen: parseListen(flags.http), ...httpCallers(flags) } : undefined;
  const grpcListen = otlpGrpcListen(flags);
  const sinks = exportSinks(flags);
  const alerts = alertsFile(flags);
  // Stable across this instance's restarts, so its tailer resumes where it stopped.
  const instance = process.env[ENV.instance] || hostname();
  const store = await ClickHouseStore.open(location, config.clock, { stdinInUse: !http });
  const audit = new ClickHouseAuditStorage(store.ch);
  // Every instance refreshes the rollup: a refresh is a complete recount, so two at once cost
  // work, never exactness (store/clickhouse/rollup.ts).
  const rollup = new RollupRefresher(store.ch, { intervalMs: 30_000, settleMs: 60_000, log });
  let tailer: LogTailer | undefined;
  let exporter: Exporter | undefined;
  let alerting: LeaseKeeper | undefined;
  let renewRegistry: NodeJS.Timeout | undefined;
  // What this instance runs, stopped in order, the store last (at shutdown, or after a failed start).
  const closeParts = async () => {
    clearInterval(renewRegistry);
    await alerting?.stop();
    await exporter?.stop();
    await tailer?.stop();
    await rollup.stop();
    await audit.close().catch(() => undefined);
    await store.close();
  };
  try {
    if (flags.catalog) log(`catalog: ${await loadCatalogFile(store, flags.catalog)} tools from ${flags.catalog}`);
    // This instance's watched files and wrap's spool, with read positions of its own.
    tailer = await startTailer(clickhouseTailSink(store, instance), flags);
    const exportStore = clickhouseExportStore(store.ch, { settleMs: EXPORT_SETTLE_MS, instance });
    const analytics = clickhouseAnalytics(store.ch, { exportLags: () => exportLags(exportStore) });
    const common = {
      clock: config.clock,
      log,
      audit: new AuditLog(audit, { key: config.auditKey }),
      access: { redactSecrets: config.redactSecrets },
      tz: config.tz,
      analytics,
      exportSinks: sinks,
      exportStore,
      alertStore: clickhouseAlertStore(store.ch, analytics),
      alertChannels: alerts.file?.channels ?? new Map(),
    };
    const where = `store ${describeStoreLocation(location)}, audit chain ${audit.chainId}`;
    const holder = `${instance}:${process.pid}:${randomBytes(3).toString('hex')}`;
    if (sinks.size) exporter = await startExport(common.exportStore, store.ch, common.audit, sinks, holder);
    else await exportStore.register([]);
    // This instance's sinks stay registered (what export_lag watches) while it runs.
    const registered = exporter ? exporter.runners.map((r) => ({ name: r.name, streams: r.sink.streams })) : [];
    renewRegistry = setInterval(() => void exportStore.register(registered).catch((error: unknown) => log(`export: registering the sinks failed: ${(error as Error).message}`)), EXPORT_REGISTRY_RENEW_MS);
    renewRegistry.unref();
    await syncAlertsFile(common.alertStore, common.audit, config, alerts);
    // Evaluated and delivered by the one instance that holds the `alerts` lease.
    alerting = leasedAlerting(common.alertStore, new ClickHouseLease(store.ch, 'alerts', holder, LEASE), { channels: common.alertChannels, clock: config.clock, tz: config.tz, log });
    alerting.start();
    if (http) {
      const ingest = clickhouseIngestTarget(store);
      const running = await startHttpServer(http.listen, {
        ...common,
        ingest,
        auth: http.auth,
        webhookSecrets: http.secrets,
        extraHostnames: flags.allowedHost,
        publicUrl: flags.publicUrl,
      });
      const grpc = grpcListen
        ? await startOtlpGrpc(grpcListen, { otlp: ingest.otlp, auth: http.auth, log }).catch(async (error: unknown) => {
            await running.close();
            throw error;
          })
        : undefined;
      onShutdown(async () => {
        await grpc?.close();
        await running.close();
        await closeParts();
      }, { onStdinEnd: false });
      rollup.start();
      log(`mcp-blackbox serving HTTP on ${running.url} (${where}): GET / (dashboard), POST /mcp (MCP Streamable HTTP), POST /v1/executions, POST /v1/traces and /v1/metrics (OTLP), GET /healthz${grpc ? `; OTLP/gRPC on ${grpc.address}` : ''}\n${running.banner}`);
      return;
    }
    const caller = stdioCaller(flags, process.env);
    const server = createServer({ ...common, caller });
    let stopping: Promise<void> | undefined;
    // The body starts a microtask later, once `stopping` is set: closing the server closes its
    // transport, whose onclose calls stop again, and must find it under way.
    const stop = () =>
      (stopping ??= Promise.resolve().then(async () => {
        await server.close().catch(() => undefined);
        await closeParts();
      }));
    const transport = new StdioServerTransport();
    transport.onclose = () => void stop().finally(() => process.exit(0));
    onShutdown(stop, { onStdinEnd: true });
    await server.connect(transport);
    rollup.start();
    log(`mcp-blackbox serving MCP on stdio as ${caller.id} (${caller.role}), ${where}`);
  } catch (error) {
    await closeParts();
    throw error;
  }
  await new Promise<never>(() => undefined);
}

/** Rows are sent once this much older than the server's clock: longer than an insert takes to land. */
const EXPORT_SETTLE_MS = 10_000;
/** A sink's lease: a standby takes over this long after its holder stopped renewing (at once after a clean stop). */
const LEASE = { ttlMs: 30_000, settleMs: 2_000 };

/**
 * The SIEM stream from a shared store: every instance configured with a sink competes for its
 * lease, and only the holder sends (from the sink's cursors, kept in ClickHouse); the others stand by.
 */
async function startExport(exportStore: ExportStore, ch: ClickHouseDb, audit: AuditLog, sinks: ReadonlyMap<string, SinkConfig>, holder: string): Promise<Exporter> {
  const exporter = new Exporter(exportStore, sinks, {
    log,
    lease: (sink) => new ClickHouseLease(ch, `export:${sink}`, holder, LEASE),
  });
  await exporter.start(audit);
  log(`export: ${[...exporter.runners].map((r) => `${r.name} (${r.sink.type}, ${r.sink.policy}, ${r.sink.streams.join('+')})`).join(', ')}: sent by whichever instance holds each sink's lease`);
  return exporter;
}
