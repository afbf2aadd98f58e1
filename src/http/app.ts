import type { Channel } from '../alerts/channels.js';
import { exportStatus } from '../export/exporter.js';
import type { ExportStore } from '../export/export-store.js';
import { duckdbAlertStore, type AlertStore } from '../alerts/alert-store.js';
import type { SinkConfig } from '../export/sinks.js';
import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AccessOptions } from '../access/access.js';
import type { AuditLog } from '../access/audit.js';
import { LOCAL_CALLER, type Caller } from '../access/caller.js';
import { duckdbAnalytics } from '../analytics/duckdb/index.js';
import type { AnalyticsBackend } from '../analytics/backend.js';
import type { Clock } from '../clock.js';
import { isExpected, StoreOutOfMemoryError, StoreUnavailableError } from '../errors.js';
import { createServer } from '../mcp/server.js';
import type { Store } from '../store/store.js';
import { HttpAuthError, type HttpAuth } from './auth.js';
import { BodyError, DEFAULT_MAX_BODY_BYTES } from './body.js';
import { registerIngestRoutes } from './ingest-routes.js';
import { duckdbIngestTarget, type IngestTarget } from './ingest-target.js';
import { registerWebRoutes } from '../web/routes.js';
import { otlpIgnored } from '../ingest/otlp-ingest.js';

export interface HttpAppOptions {
  /** The DuckDB store, when serving one; its alert, export and OTLP state show in /healthz. */
  store?: Store;
  /** The engine the questions go to; the DuckDB store's by default. */
  analytics?: AnalyticsBackend;
  /** Where ingest goes (ingest-target.ts); the DuckDB store by default. */
  ingest?: IngestTarget;
  clock: Clock;
  /** Default zone for calendar windows (serve --tz). */
  tz?: string;
  audit: AuditLog;
  access?: AccessOptions;
  auth: HttpAuth;
  /**
   * No caller authentication: every request is the local admin. Only a loopback listener may be
   * in this mode (exposure.ts decides), never merely because no token was configured.
   */
  localMode: boolean;
  /** Standard Webhooks secrets (`whsec_...`); several during a rotation. */
  webhookSecrets: readonly string[];
  /** Host names the server answers to (DNS rebinding defence); the Host and any Origin must name one. */
  allowedHostnames: readonly string[];
  /** Public base URL, for the protected resource metadata. */
  publicUrl: () => string;
  maxBodyBytes?: number;
  /** Above this many queued writes, ingest answers 503 with Retry-After instead of queueing more. */
  maxQueuedWrites?: number;
  /**
   * Read-only CLI commands run here for a CLI that finds the database owned by this process
   * (summary, quarantine, audit-verify): admins only. The CLI passes them in; the app knows
   * nothing of what they do.
   */
  commands?: Readonly<Record<string, (args: Record<string, unknown>) => Promise<{ text: string; code: number }>>>;
  /** Notification channels of serve --alerts FILE (the alert tools check rules against them). */
  alertChannels?: ReadonlyMap<string, Channel>;
  /** Export sinks of serve --export FILE (export_status and /healthz report them). */
  exportSinks?: ReadonlyMap<string, SinkConfig>;
  /** Where the sinks' cursors and status are kept, when not in the DuckDB store. */
  exportStore?: ExportStore;
  /** Alerting's state, when not in the DuckDB store. */
  alertStore?: AlertStore;
  log?: (line: string) => void;
}

/** The HTTP app: ingest, OTLP traces, MCP over Streamable HTTP, the dashboard, health. No listening here. */
export function buildHttpApp(options: HttpAppOptions): FastifyInstance {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const app = Fastify({ logger: false, bodyLimit: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, genReqId: () => randomUUID() });
  const hostnames = new Set(options.allowedHostnames.map((h) => h.toLowerCase()));
  const store = options.store;
  if (!store && (!options.analytics || !options.ingest)) throw new Error('an HTTP app needs a DuckDB store, or an analytics backend and an ingest target');
  const analytics = options.analytics ?? duckdbAnalytics((task) => store!.read(task));
  const ingest = options.ingest ?? duckdbIngestTarget(store!);

  app.addHook('onRequest', async (request, reply) => {
    const host = hostnameOf(request.headers.host);
    if (!host || !hostnames.has(host)) {
      return reply.code(403).send({ error: `Host ${JSON.stringify(request.headers.host ?? '')} is not allowed (DNS rebinding protection); allowed: ${[...hostnames].join(', ')}.` });
    }
    const origin = request.headers.origin;
    if (origin !== undefined) {
      let originHost: string | undefined;
      try {
        originHost = new URL(origin).hostname.toLowerCase().replace(/^\[|\]$/g, '');
      } catch {
        originHost = undefined;
      }
      if (!originHost || !hostnames.has(originHost)) {
        return reply.code(403).send({ error: `Origin ${JSON.stringify(origin)} is not allowed.` });
      }
    }
    if (/[?&]access_token=/.test(request.url)) {
      return reply.code(400).send({ error: 'Tokens are never accepted in the query string; send Authorization: Bearer <token>.' });
    }
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    if (error instanceof BodyError) return reply.code(error.status).send({ error: error.message });
    // The store cannot take writes until its memory limit is raised, or until its file can be
    // opened again: the sender keeps its records, and a health check fails.
    if (error instanceof StoreOutOfMemoryError || error instanceof StoreUnavailableError) {
      return reply.code(503).header('Retry-After', '60').send({ error: error.message });
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ error: 'The body is larger than the limit.' });
    if (error.statusCode && error.statusCode < 500) return reply.code(error.statusCode).send({ error: error.message });
    log(`[mcp-blackbox] http internal error: ${error.stack ?? error.message}`);
    return reply.code(500).send({ error: 'Internal error (logged on the server).' });
  });

  const resourceMetadataUrl = () => `${options.publicUrl()}/.well-known/oauth-protected-resource`;

  /** The caller of a request: from its token, or local single-user mode when no auth is configured. */
  const authenticate = async (request: FastifyRequest, reply: FastifyReply): Promise<Caller | undefined> => {
    try {
      const asserted = request.headers['x-blackbox-as'];
      const caller = await options.auth.authenticate(request.headers.authorization, typeof asserted === 'string' ? asserted : undefined);
      if (caller) return caller;
      if (options.localMode) return LOCAL_CALLER;
      throw new HttpAuthError(401, 'This server requires a bearer token (Authorization: Bearer <token>).');
    } catch (error) {
      if (!(error instanceof HttpAuthError)) throw error;
      if (error.status === 401) {
        reply.header('WWW-Authenticate', `Bearer resource_metadata="${resourceMetadataUrl()}", error="invalid_token", error_description="${error.message.replaceAll('"', "'")}"`);
      }
      await reply.code(error.status).send({ error: error.message });
      return undefined;
    }
  };

  // Open for liveness checks (load balancers carry no token); what the store holds is data, so
  // outside local mode its figures need a valid token. The read runs either way: a store that
  // cannot be opened answers 503 to both.
  app.get('/healthz', async (request) => {
    // Reading the store is the health check itself (a store that cannot be read answers 503 to
    // anyone); the details are read only for a caller who may see them.
    const extent = await analytics.extent();
    if (!options.localMode && !(await options.auth.authenticate(request.headers.authorization).catch(() => undefined))) {
      return { status: 'ok' };
    }
    const alertStore = options.alertStore ?? (store && duckdbAlertStore(store));
    const exportStore = options.exportStore ?? store;
    const [held, alerts, exports] = await Promise.all([
      ingest.otlp.heldSpanStats(),
      alertStore?.health(),
      exportStore ? exportStatus(exportStore, options.exportSinks ?? new Map()) : [],
    ]);
    return {
      status: 'ok', engine: analytics.engine, ...extent, queued_writes: ingest.queuedWrites,
      otlp_ignored: otlpIgnored, otlp_spans_waiting: held.waiting, otlp_orphan_spans: held.orphans,
      ...(alerts ? { alerts } : {}), export: exports,
    };
  });

  // RFC 9728: where a client learns which authorization server issues tokens for /mcp.
  app.get('/.well-known/oauth-protected-resource', async () => ({
    resource: `${options.publicUrl()}/mcp`,
    authorization_servers: options.auth.jwtIssuer ? [options.auth.jwtIssuer] : [],
    bearer_methods_supported: ['header'],
    resource_name: 'mcp-blackbox',
  }));

  app.post<{ Params: { command: string } }>('/v1/cli/:command', async (request, reply) => {
    const caller = await authenticate(request, reply);
    if (!caller) return reply;
    if (caller.role !== 'admin') return reply.code(403).send({ error: 'Only admins may run CLI commands on the server.' });
    const command = options.commands?.[request.params.command];
    if (!command) return reply.code(404).send({ error: `No command ${JSON.stringify(request.params.command)}; this server runs: ${Object.keys(options.commands ?? {}).join(', ') || 'none'}.` });
    const args = request.body && typeof request.body === 'object' && !Array.isArray(request.body) ? (request.body as Record<string, unknown>) : {};
    try {
      return await command(args);
    } catch (error) {
      if (isExpected(error)) return reply.code(400).send({ error: error.message });
      throw error;
    }
  });

  app.post('/mcp', async (request, reply) => {
    const caller = await authenticate(request, reply);
    if (!caller) return reply;
    if (caller.role === 'ingest') {
      return reply.code(403).send({ error: 'Ingest tokens may only send data (/v1/executions, /v1/traces), not call MCP tools.' });
    }
    // Stateless: one server per request, bound to the verified caller, so masking and unmask
    // rights follow the token and nothing leaks between callers.
    const server = createServer({ store: options.store, analytics: options.analytics, clock: options.clock, tz: options.tz, caller, audit: options.audit, access: options.access, log, alertChannels: options.alertChannels, exportSinks: options.exportSinks, exportStore: options.exportStore, alertStore: options.alertStore });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    reply.hijack();
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(request.raw, reply.raw, request.body);
  });
  for (const method of ['GET', 'DELETE'] as const) {
    app.route({
      method,
      url: '/mcp',
      handler: async (_request, reply) =>
        reply.code(405).header('Allow', 'POST').send({ error: 'This server is stateless: send MCP requests with POST /mcp.' }),
    });
  }

  app.register(async (scope) => registerIngestRoutes(scope, { ...options, ingest, authenticate, log }));
  app.register(async (scope) => registerWebRoutes(scope, { ...options, log }));
  return app;
}

function hostnameOf(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const trimmed = host.trim().toLowerCase();
  if (trimmed.startsWith('[')) return trimmed.slice(1, trimmed.indexOf(']'));
  return trimmed.split(':')[0];
}
