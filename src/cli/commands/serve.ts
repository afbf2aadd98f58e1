import { existsSync, mkdirSync, statSync } from 'node:fs';
import { defaultSpoolDir } from '../../record/shipper.js';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Command, Option } from 'commander';
import { AccessList } from '../../access/access-file.js';
import { LOCAL_CALLER, type Caller } from '../../access/caller.js';
import { fixedClock } from '../../clock.js';
import { DatabaseLockedError, UserInputError } from '../../errors.js';
import { bridgeStdioToHttp } from '../../mcp/bridge.js';
import { isLoopback } from '../../http/exposure.js';
import { advertiseOwner, AS_HEADER, findOwner, newOwnerToken, ownerPath, type OwnerRecord } from '../owner.js';
import { quarantineReport } from './quarantine.js';
import { alertOwnerCommands } from './alerts.js';
import { exportReplayReport, exportStatusReport, loadExportFiles } from './export.js';
import type { SinkConfig } from '../../export/sinks.js';
import { Exporter } from '../../export/exporter.js';
import { AlertEngine } from '../../alerts/engine.js';
import { Delivery } from '../../alerts/delivery.js';
import { duckdbAlertStore, type AlertStore } from '../../alerts/alert-store.js';
import { loadAlertsFile, syncFileRules, type AlertsFile } from '../../alerts/manage.js';
import type { Channel } from '../../alerts/channels.js';
import { auditVerifyReport } from './audit.js';
import { loadCatalogFile } from '../../ingest/catalog-file.js';
import { ingestFiles } from '../../ingest/files.js';
import { sweepStaleScratch } from '../../scratch.js';
import { LogTailer, type TailSink } from '../../ingest/tailer.js';
import type { BatchResult } from '../../ingest/batch.js';
import { createServer } from '../../mcp/server.js';
import { HttpAuth } from '../../http/auth.js';
import { parseListen, startHttpServer } from '../../http/server.js';
import { duckdbOtlpStore } from '../../ingest/otlp-store.js';
import { startOtlpGrpc } from '../../http/otlp-grpc.js';
import { SAMPLE_ANCHOR } from '../../sample/fleet.js';
import { Store } from '../../store/store.js';
import { auditMirrorPath, ENV, resolveConfig, storeOptions, type CommonFlags, type Config } from '../config.js';
import { AuditLog } from '../../access/audit.js';
import { formatIngestSummary } from './ingest.js';
import { fleetSummaryText, summaryReport } from './summary.js';
import type { RunWrapper } from '../main.js';

export interface ServeFlags extends CommonFlags {
  watch?: string[];
  /** The spool directory of wrap to ingest; false with --no-spool. */
  spool?: string | false;
  catalog?: string;
  as?: string;
  access?: string;
  http?: string;
  webhookSecret?: string[];
  jwksUrl?: string;
  jwtIssuer?: string;
  jwtAudience?: string;
  jwtUserClaim?: string;
  jwtRoleClaim?: string;
  allowedHost?: string[];
  publicUrl?: string;
  otlpGrpc?: string;
  /** Alerts file: channels and rules (JSON or YAML). */
  alerts?: string;
  /** Export files: sinks (JSON or YAML). */
  export?: string[];
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * The caller of a stdio session: from the access file when there is one, else single-user mode,
 * where `--as NAME` names the one person (still an admin) so that their own recorded executions
 * show in full; without it the caller is `local`.
 */
export function stdioCaller(flags: ServeFlags, env: NodeJS.ProcessEnv): Caller {
  const accessPath = flags.access ?? env[ENV.access];
  const userId = flags.as ?? env[ENV.user];
  if (!accessPath) return userId ? { id: userId, role: 'admin' } : LOCAL_CALLER;
  return AccessList.load(accessPath).callerFor(userId);
}

interface Services {
  store: Store;
  audit: AuditLog;
  tailer?: LogTailer;
  alerts: { engine: AlertEngine; delivery: Delivery; channels: ReadonlyMap<string, Channel> };
  exporter: Exporter;
}

/**
 * A log that repeats a line at most once a minute: a watched file that cannot be stored (the
 * store out of memory, say) fails again at every change, as often as every second.
 */
export function onceAMinute(write: (line: string) => void): (line: string) => void {
  const lastWritten = new Map<string, number>();
  return (line) => {
    const now = Date.now();
    if (now - (lastWritten.get(line) ?? -Infinity) < 60_000) return;
    if (lastWritten.size > 1000) lastWritten.clear();
    lastWritten.set(line, now);
    write(line);
  };
}

/**
 * Tells the operator about quarantined lines as the watcher meets them: the first of a file at
 * once, with its line number and reason, then at most one line per file every ten seconds, which
 * counts those in between. A file full of bad lines must not flood stderr, nor hide its count.
 */
export function quarantineReporter(write: (line: string) => void, intervalMs = 10_000): (path: string, result: BatchResult) => void {
  const files = new Map<string, { last: number; held: number; timer?: NodeJS.Timeout }>();
  const flush = (path: string) => {
    const state = files.get(path)!;
    state.timer = undefined;
    if (state.held === 0) return;
    write(`watch: ${path}: ${state.held} more line(s) quarantined. mcp-blackbox quarantine lists them.`);
    state.held = 0;
    state.last = Date.now();
  };
  return (path, result) => {
    const count = Object.values(result.quarantined).reduce((a, b) => a + b, 0);
    if (count === 0) return;
    const state = files.get(path) ?? { last: -Infinity, held: 0 };
    files.set(path, state);
    const wait = state.last + intervalMs - Date.now();
    if (wait > 0) {
      state.held += count;
      state.timer ??= setTimeout(() => flush(path), wait).unref();
      return;
    }
    const first = result.rejected[0];
    write(`watch: ${path}: ${count} line(s) quarantined${first ? `, first line ${first.lineNo}: ${first.reason}` : ''}. mcp-blackbox quarantine lists them.`);
    state.last = Date.now();
  };
}

/** What every serving mode shares: the catalog, the watcher, the audit log. */
async function startServices(store: Store, config: Config, flags: ServeFlags): Promise<Services> {
  if (flags.catalog) log(`catalog: ${await loadCatalogFile(store, flags.catalog)} tools from ${flags.catalog}`);
  const tailer = await startTailer(store, flags);
  const audit = new AuditLog(store, { key: config.auditKey, mirrorPath: store.path === ':memory:' ? undefined : auditMirrorPath(config.dbPath) });
  const alerts = await startAlerts(store, audit, config, flags);
  return { store, audit, tailer, alerts, exporter: await startExport(store, audit, flags) };
}

/**
 * The tailer of --watch's directories and of wrap's spool: wrap with no --to leaves its records in
 * the spool, and the server takes them from there, so recording needs no configuration at all.
 */
export async function startTailer(target: Store | TailSink, flags: ServeFlags): Promise<LogTailer | undefined> {
  const spool = flags.spool === false ? undefined : resolve(flags.spool ?? process.env[ENV.spool] ?? defaultSpoolDir());
  if (spool) mkdirSync(spool, { recursive: true, mode: 0o700 });
  const dirs = [...(flags.watch ?? []), ...(spool ? [spool] : [])];
  if (!dirs.length) return undefined;
  const watchLog = onceAMinute(log);
  const tailer = new LogTailer(target, {
    dirs,
    onBatch: quarantineReporter(log),
    onError: (path, error) => watchLog(`watch: ${path}: ${error instanceof Error ? error.message : String(error)}`),
  });
  await tailer.start();
  log(`watching ${dirs.join(', ')} for *.jsonl / *.ndjson${spool ? ` (${spool}: what wrap recorded)` : ''}`);
  return tailer;
}

/** The rules and channels of --alerts FILE (or MCP_BLACKBOX_ALERTS), read before anything starts. */
export function alertsFile(flags: ServeFlags): { file?: AlertsFile; path?: string } {
  const path = flags.alerts ?? process.env[ENV.alerts];
  return path ? { file: loadAlertsFile(resolve(path)), path } : {};
}

/** The file's rules stored (new and changed ones; those gone from the file removed), each change audited as the file's. */
export async function syncAlertsFile(alerts: AlertStore, audit: AuditLog, config: Config, { file, path }: ReturnType<typeof alertsFile>): Promise<void> {
  if (!file || !path) return;
  const caller: Caller = { id: `alerts-file:${path}`, role: 'admin' };
  const counts = await syncFileRules({ alerts, audit: audit.as(caller), actor: caller.id, clock: config.clock, channels: file.channels }, file, log);
  log(`alerts: ${file.rules.length} rule(s) and ${file.channels.size} channel(s) from ${path} (${counts.added} added, ${counts.changed} changed, ${counts.removed} removed)`);
}

/** The sinks of the --export files, or of MCP_BLACKBOX_EXPORT (comma-separated). */
export function exportSinks(flags: ServeFlags): Map<string, SinkConfig> {
  return loadExportFiles(flags.export ?? (process.env[ENV.export] ?? '').split(',').map((p) => p.trim()).filter(Boolean));
}

/** The SIEM stream: each sink of the --export files (or MCP_BLACKBOX_EXPORT, comma-separated) from its cursor. */
async function startExport(store: Store, audit: AuditLog, flags: ServeFlags): Promise<Exporter> {
  const sinks = exportSinks(flags);
  const exporter = new Exporter(store, sinks, { log });
  store.beforeClose(() => exporter.stop());
  await exporter.start(audit);
  if (sinks.size) log(`export: ${[...sinks].map(([name, s]) => `${name} (${s.type}, ${s.policy})`).join(', ')}`);
  return exporter;
}

/**
 * Alerting: the rules of --alerts FILE stored (each change audited, as the file's), then the
 * rules evaluated every minute on the data's clock and their notifications delivered. Runs with
 * no file too: rules made through the tools need it.
 */
async function startAlerts(store: Store, audit: AuditLog, config: Config, flags: ServeFlags): Promise<Services['alerts']> {
  const loaded = alertsFile(flags);
  const { file } = loaded;
  await syncAlertsFile(duckdbAlertStore(store), audit, config, loaded);
  const channels = file?.channels ?? new Map();
  const delivery = new Delivery(store, channels, { log });
  const engine = new AlertEngine(store, { clock: config.clock, tz: config.tz, log, onQueued: () => delivery.kick() });
  store.beforeClose(async () => {
    await engine.stop();
    await delivery.stop();
  });
  engine.start();
  delivery.start();
  return { engine, delivery, channels };
}

/**
 * A --watch path that names a file would watch nothing, silently; one that does not exist may be
 * a typo, or a directory the gateway has not created yet (its files are read once it exists).
 */
function checkWatchDir(dir: string): void {
  let info;
  try {
    info = statSync(dir);
  } catch {
    log(`watch: ${dir} does not exist yet; its log files will be read once it is created`);
    return;
  }
  if (!info.isDirectory()) {
    throw new UserInputError(`--watch takes directories, and ${dir} is not one. To tail a file, watch its directory: --watch ${dirname(resolve(dir))}`);
  }
}

/** Stops in order: no new work, finish what was accepted, then release the database. */
export function onShutdown(stop: () => Promise<void>, options: { onStdinEnd: boolean }): void {
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    try {
      await stop();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
  // A stdio client going away ends the server; an HTTP server outlives its terminal.
  if (options.onStdinEnd) process.stdin.on('end', () => void shutdown());
}

/**
 * What the owner of the database offers its other doors (cli/owner.ts): the token a bridge or a
 * read-only command on this machine shows, the caller a bridge names (given its role as --as
 * would be), and the read-only commands.
 */
function ownerSide(services: Services, config: Config, flags: ServeFlags) {
  const accessPath = flags.access ?? process.env[ENV.access];
  const accessList = accessPath ? AccessList.load(accessPath) : undefined;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return {
    token: newOwnerToken(),
    callerFor: (asserted: string | undefined): Caller => (accessList ? accessList.callerFor(asserted) : asserted ? { id: asserted, role: 'admin' } : LOCAL_CALLER),
    commands: {
      summary: (args: Record<string, unknown>) =>
        summaryReport(services.store, { window: text(args.window), catalog: text(args.catalog), now: text(args.now), tz: text(args.tz) }, config),
      quarantine: (args: Record<string, unknown>) => quarantineReport(services.store, { limit: typeof args.limit === 'number' ? args.limit : undefined, reason: text(args.reason) }),
      'audit-verify': (args: Record<string, unknown>) => auditVerifyReport(services.audit, { json: args.json === true, withoutMirror: args.withoutMirror === true }),
      ...alertOwnerCommands(services.store, config),
      'export-replay': (args: Record<string, unknown>) => exportReplayReport(services.store, services.exporter.sinks, args),
      'export-status': () => exportStatusReport(services.store, services.exporter.sinks),
    },
  };
}

async function serveStdio(services: Services, config: Config, flags: ServeFlags): Promise<void> {
  const caller = stdioCaller(flags, process.env);
  const server = createServer({ store: services.store, clock: config.clock, caller, log, audit: services.audit, access: { redactSecrets: config.redactSecrets }, tz: config.tz, alertChannels: services.alerts.channels, exportSinks: services.exporter.sinks });
  const transport = new StdioServerTransport();
  // A stdio server owns the file too: a loopback door, for the owner token only, lets a second
  // client's serve, connect and the read-only commands share the database instead of failing.
  const owner = ownerSide(services, config, flags);
  const door = await startHttpServer({ host: '127.0.0.1', port: 0 }, {
    store: services.store,
    clock: config.clock,
    tz: config.tz,
    audit: services.audit,
    access: { redactSecrets: config.redactSecrets },
    auth: new HttpAuth({ owner: { token: owner.token, callerFor: owner.callerFor, required: true } }),
    webhookSecrets: [],
    commands: owner.commands,
    alertChannels: services.alerts.channels,
    exportSinks: services.exporter.sinks,
    log,
  });
  const unadvertise = advertiseOwner(config.dbPath, door.url, owner.token);
  const stop = async () => {
    unadvertise();
    await door.close();
    await services.tailer?.stop();
    await server.close().catch(() => undefined);
    await services.store.close();
  };
  transport.onclose = () => void stop().finally(() => process.exit(0));
  onShutdown(stop, { onStdinEnd: true });
  await server.connect(transport);
  log(`mcp-blackbox serving MCP on stdio as ${caller.id} (${caller.role}), database ${config.dbPath}; other processes reach it through ${door.url} (${ownerPath(config.dbPath)})`);
}

/** A stdio serve on a database another server owns: the same tools, through the owner. */
async function bridgeToOwner(owner: OwnerRecord, config: Config, flags: ServeFlags): Promise<void> {
  const as = flags.as ?? process.env[ENV.user];
  const ignored = [flags.watch?.length ? '--watch' : '', flags.catalog ? '--catalog' : '', flags.access ? '--access' : ''].filter(Boolean);
  log(
    `mcp-blackbox: ${config.dbPath} is owned by PID ${owner.pid}; serving its tools on stdio through ${owner.url}/mcp${as ? ` as ${as}` : ''}` +
      (ignored.length ? ` (${ignored.join(', ')} belong to the owner and are ignored here)` : ''),
  );
  await bridgeStdioToHttp(owner.url, { authorization: `Bearer ${owner.token}`, ...(as ? { [AS_HEADER]: as } : {}) }, log);
}

/** The callers an HTTP listener accepts (access file, JWTs, the owner's bridges) and its webhook secrets, from the flags. */
export function httpCallers(flags: ServeFlags, owner?: { token: string; callerFor: (asserted: string | undefined) => Caller }): { auth: HttpAuth; secrets: string[] } {
  const accessPath = flags.access ?? process.env[ENV.access];
  const jwt = flags.jwksUrl || flags.jwtIssuer || flags.jwtAudience
    ? {
        jwksUrl: required(flags.jwksUrl, '--jwks-url'),
        issuer: required(flags.jwtIssuer, '--jwt-issuer'),
        audience: required(flags.jwtAudience, '--jwt-audience'),
        userClaim: flags.jwtUserClaim,
        roleClaim: flags.jwtRoleClaim,
      }
    : undefined;
  const auth = new HttpAuth({ access: accessPath ? AccessList.load(accessPath) : undefined, jwt, owner });
  const secrets = flags.webhookSecret ?? (process.env[ENV.webhookSecrets] ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  return { auth, secrets };
}

async function serveHttp(services: Services, config: Config, flags: ServeFlags): Promise<string> {
  const owner = ownerSide(services, config, flags);
  const { auth, secrets } = httpCallers(flags, { token: owner.token, callerFor: owner.callerFor });
  const running = await startHttpServer(parseListen(flags.http!), {
    store: services.store,
    clock: config.clock,
    tz: config.tz,
    audit: services.audit,
    access: { redactSecrets: config.redactSecrets },
    auth,
    webhookSecrets: secrets,
    extraHostnames: flags.allowedHost,
    publicUrl: flags.publicUrl,
    commands: owner.commands,
    alertChannels: services.alerts.channels,
    exportSinks: services.exporter.sinks,
    log,
  });
  const grpcListen = otlpGrpcListen(flags);
  const grpcServer = grpcListen ? await startOtlpGrpc(grpcListen, { otlp: duckdbOtlpStore(services.store), auth, log }) : undefined;
  const listen = parseListen(flags.http!);
  const loopbackUrl = isLoopback(listen.host) ? running.url : running.url.replace(/^http:\/\/(\[[^\]]*\]|[^:/]+)/, 'http://127.0.0.1');
  const unadvertise = advertiseOwner(config.dbPath, loopbackUrl, owner.token);
  onShutdown(async () => {
    unadvertise();
    await grpcServer?.close();
    await running.close();
    await services.tailer?.stop();
    await services.store.close();
  }, { onStdinEnd: false });
  log(`mcp-blackbox serving HTTP on ${running.url}: GET / (dashboard), POST /mcp (MCP Streamable HTTP), POST /v1/executions, POST /v1/traces (OTLP JSON or protobuf), GET /healthz${grpcServer ? `; OTLP/gRPC on ${grpcServer.address}` : ''}\n${running.banner}`);
  return running.url;
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new UserInputError(`JWT verification needs ${flag} too (--jwks-url, --jwt-issuer and --jwt-audience go together).`);
  return value;
}

/** sample-logs/ of this package, wherever it is installed. */
function sampleLogsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..', '..', '..', 'sample-logs');
}

export function clientSnippet(dbPath: string, now?: string): string {
  const cli = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'main.js');
  const args = [cli, 'serve', '--db', dbPath, ...(now ? ['--now', now] : [])];
  return JSON.stringify({ mcpServers: { blackbox: { command: process.execPath, args } } }, null, 2);
}

/** `mcp-blackbox serve`: runs until the client disconnects or a signal. */
export async function serveAction(flags: ServeFlags): Promise<void> {
    const config = resolveConfig(flags, process.env, { clickhouse: true });
    for (const dir of flags.watch ?? []) checkWatchDir(dir);
    if (config.store.engine !== 'duckdb') return (await import('./serve-clickhouse.js')).serveClickHouse(config.store, config, flags);
    sweepStaleScratch();
    let store: Store;
    try {
      store = await Store.open(storeOptions(config));
    } catch (error) {
      // Another server owns the file: a stdio serve shares it through that server.
      const owner = !flags.http && error instanceof DatabaseLockedError ? await findOwner(config.dbPath) : undefined;
      if (!owner) throw error;
      await bridgeToOwner(owner, config, flags);
      process.exit(0);
    }
    let services: Services | undefined;
    try {
      services = await startServices(store, config, flags);
      otlpGrpcListen(flags);
      if (flags.http) await serveHttp(services, config, flags);
      else await serveStdio(services, config, flags);
    } catch (error) {
      // The watcher (of the spool at least) would keep a process that cannot serve alive.
      await services?.tailer?.stop();
      await store.close();
      throw error;
    }
    await new Promise<never>(() => undefined); // runs until the client disconnects or a signal
}

/** `mcp-blackbox demo` (what npm start runs). */
export async function demoAction(flags: CommonFlags & { http?: string }): Promise<void> {
    const now = flags.now ?? process.env[ENV.now] ?? SAMPLE_ANCHOR;
    const config = { ...resolveConfig(flags, process.env), clock: fixedClock(new Date(now)) };
    const samples = sampleLogsDir();
    if (!existsSync(samples)) throw new Error(`sample logs not found at ${samples}`);
    sweepStaleScratch();
    const store = await Store.open(storeOptions(config));
    try {
      const started = performance.now();
      const summary = await ingestFiles(store, [samples]);
      log(formatIngestSummary(summary, (performance.now() - started) / 1000, config.dbPath));
      await loadCatalogFile(store, join(samples, 'catalog.json'));
      log(await fleetSummaryText(store, config.clock, '7d'));
      // The demo's clock is pinned to the sample period: live records from wrap would read as
      // from the future there, so the spool is left for a real serve.
      const services = await startServices(store, config, { spool: false });
      const url = await serveHttp(services, config, { http: flags.http ?? '127.0.0.1:8765' });
      log(`"Now" is pinned to ${now}, the end of the sample period. This demo serves MCP at ${url}/mcp and the dashboard at ${url}/ (open it in a browser).`);
      log('Clients that speak Streamable HTTP (Cursor, the MCP Inspector, ...):\n');
      log(JSON.stringify({ mcpServers: { blackbox: { url: `${url}/mcp` } } }, null, 2));
      log('\nClients that launch a stdio server (Claude Desktop): stop this demo first (one process owns the database), then use:\n');
      log(clientSnippet(config.dbPath, now));
      log('\nCtrl-C stops the demo.');
    } catch (error) {
      await store.close();
      throw error;
    }
    await new Promise<never>(() => undefined);
}

/** Where --otlp-grpc listens, if given; it goes with --http, whose auth the gRPC port shares. */
export function otlpGrpcListen(flags: ServeFlags): { host: string; port: number } | undefined {
  if (!flags.otlpGrpc) return undefined;
  if (!flags.http) throw new UserInputError('--otlp-grpc goes with --http: the HTTP server and the gRPC port share their auth.');
  return parseListen(flags.otlpGrpc, '--otlp-grpc');
}
