import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LOCAL_CALLER, type Caller } from '../access/caller.js';
import { AccessDenied, isExpected, NotFoundError } from '../errors.js';
import { answerTool, callerScope, parseToolArgs, type CallerScope } from '../mcp/call.js';
import { TOOLS } from '../mcp/registry.js';
import type { ServerOptions } from '../mcp/server.js';
import { runCostReport } from '../mcp/tools/cost-common.js';
import { HttpAuthError, type HttpAuth } from '../http/auth.js';
import { builtFile } from '../built-files.js';
import { costCsv } from './csv.js';
import { cookieValue, CSRF_HEADER, csrfMatches, SESSION_COOKIE, sessionCookie, Sessions, SignInThrottle, type Session } from './session.js';

export interface WebOptions extends Omit<ServerOptions, 'caller'> {
  auth: HttpAuth;
  /** Loopback with no access file: the browser is the local admin, as /mcp's callers are. */
  localMode: boolean;
  /** Secure cookies when the public URL is https. */
  publicUrl: () => string;
  sessions?: Sessions;
}

/** Paths of the dashboard's pages: each serves the same shell, and the script draws the page the path names. */
export const PAGES = ['overview', 'drill', 'spike', 'cost', 'failures', 'unused', 'alerts', 'audit', 'sign-in'] as const;

// Our own script and styles only; no inline code, no frames, no other origin; the chart library is in the bundle.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const SECURITY_HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cache-control': 'no-store',
};

const SHELL = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mcp-blackbox</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/dashboard.css">
<script defer src="/assets/dashboard.js"></script>
</head>
<body><div id="app" aria-live="polite">Loading…</div></body>
</html>
`;

/**
 * The web dashboard: its pages, sign-in and the JSON API its script calls. Every answer comes
 * from a tool, through the same path as an MCP tools/call (answerTool): the same analytics, the
 * same masking and redaction, the same audit for an unmask.
 */
export function registerWebRoutes(app: FastifyInstance, options: WebOptions): void {
  const sessions = options.sessions ?? new Sessions();
  const throttle = new SignInThrottle();
  const secure = () => options.publicUrl().startsWith('https:');
  const byName = new Map(TOOLS.map((t) => [t.name, t]));
  const scopeFor = (caller: Caller): CallerScope => callerScope({ ...options, caller });

  const shell = async (_request: FastifyRequest, reply: FastifyReply) => reply.headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(SHELL);
  app.get('/', shell);
  for (const page of PAGES) app.get(`/${page}`, shell);
  app.get('/trace/:id', shell);

  for (const [file, type] of [['dashboard.js', 'text/javascript; charset=utf-8'], ['dashboard.css', 'text/css; charset=utf-8']] as const) {
    app.get(`/assets/${file}`, async (_request, reply) =>
      reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-cache' }).type(type).send(builtFile(`web/assets/${file}`)),
    );
  }

  /**
   * The caller of an API request: a session cookie (with its CSRF header, since a browser sends
   * the cookie by itself), or a bearer token (scripts: curl for the CSV), or the local admin.
   */
  const callerOf = async (request: FastifyRequest, reply: FastifyReply): Promise<Caller | undefined> => {
    if (request.headers.authorization) {
      try {
        const caller = await options.auth.authenticate(request.headers.authorization);
        if (caller && caller.role !== 'ingest') return caller;
        await reply.code(403).send({ error: 'Ingest tokens may only send data, not read it.' });
      } catch (error) {
        if (!(error instanceof HttpAuthError)) throw error;
        await reply.code(error.status).send({ error: error.message });
      }
      return undefined;
    }
    const session = sessions.find(cookieValue(request.headers.cookie, SESSION_COOKIE));
    if (session) {
      if (request.method !== 'GET' && !csrfMatches(session, request.headers[CSRF_HEADER])) {
        await reply.code(403).send({ error: `Missing or wrong ${CSRF_HEADER} header: reload the page.` });
        return undefined;
      }
      return session.caller;
    }
    if (options.localMode) return LOCAL_CALLER;
    await reply.code(401).send({ error: 'Sign in first: POST /api/session with {"token": "<your token>"}.' });
    return undefined;
  };

  const describe = (session: Session) => ({ user: session.caller.id, role: session.caller.role, csrf: session.csrf, expires_at: new Date(session.expiresAt).toISOString(), local: options.localMode });
  const start = (reply: FastifyReply, caller: Caller, notAfter?: number) => {
    const { cookie, session, maxAgeSeconds } = sessions.open(caller, notAfter);
    reply.header('set-cookie', sessionCookie(cookie, maxAgeSeconds, secure()));
    return describe(session);
  };

  // Who the browser is signed in as; in local mode a browser without a session becomes the local admin.
  app.get('/api/session', async (request, reply) => {
    reply.headers(SECURITY_HEADERS);
    const session = sessions.find(cookieValue(request.headers.cookie, SESSION_COOKIE));
    if (session) return describe(session);
    if (options.localMode) return start(reply, LOCAL_CALLER);
    // Nothing about how this server authenticates (how many users hold tokens) to a stranger.
    return reply.code(401).send({ error: 'Not signed in.' });
  });

  // Sign-in: a token (from the access file, or a JWT from the issuer) exchanged for a session cookie.
  app.post('/api/session', async (request, reply) => {
    reply.headers(SECURITY_HEADERS);
    const wait = throttle.retryAfter(request.ip);
    if (wait > 0) {
      return reply.code(429).header('retry-after', String(Math.ceil(wait / 1000))).send({ error: `Too many failed sign-ins from this address; try again in ${Math.ceil(wait / 1000)} s.` });
    }
    const token = (request.body as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || token.trim() === '') return reply.code(400).send({ error: 'Send {"token": "<your token>"} as JSON.' });
    let verified: Awaited<ReturnType<HttpAuth['verify']>>;
    try {
      verified = await options.auth.verify(`Bearer ${token.trim()}`);
    } catch (error) {
      if (!(error instanceof HttpAuthError)) throw error;
      throttle.failed(request.ip);
      return reply.code(401).send({ error: error.message });
    }
    if (!verified) {
      throttle.failed(request.ip);
      return reply.code(401).send({ error: 'The token is not valid.' });
    }
    if (verified.caller.role === 'ingest') return reply.code(403).send({ error: 'Ingest tokens may only send data; sign in with a member or admin token.' });
    return start(reply, verified.caller, verified.expiresAt);
  });

  app.delete('/api/session', async (request, reply) => {
    const cookie = cookieValue(request.headers.cookie, SESSION_COOKIE);
    const session = sessions.find(cookie);
    if (session && !csrfMatches(session, request.headers[CSRF_HEADER])) return reply.code(403).send({ error: `Missing or wrong ${CSRF_HEADER} header.` });
    sessions.close(cookie);
    return reply.header('set-cookie', sessionCookie('', 0, secure())).code(204).send();
  });

  // One tool call, answered as MCP answers it: { structured, summary }, or 4xx with the reason.
  app.post<{ Params: { name: string } }>('/api/tools/:name', async (request, reply) => {
    reply.headers(SECURITY_HEADERS);
    const caller = await callerOf(request, reply);
    if (!caller) return reply;
    const tool = byName.get(request.params.name);
    if (!tool) return reply.code(404).send({ error: `No tool ${JSON.stringify(request.params.name)}.` });
    const scope = scopeFor(caller);
    try {
      return await answerTool(tool, parseToolArgs(tool, request.body), scope);
    } catch (error) {
      if (!isExpected(error)) throw error;
      const status = error instanceof AccessDenied ? 403 : error instanceof NotFoundError ? 404 : 400;
      return reply.code(status).send({ error: scope.access.protectText(error.message) });
    }
  });

  // Chargeback: every row of a cost report as CSV (the tools stop at 100 rows; a finance export must not).
  app.get<{ Querystring: Record<string, string> }>('/api/cost.csv', async (request, reply) => {
    reply.headers(SECURITY_HEADERS);
    const caller = await callerOf(request, reply);
    if (!caller) return reply;
    const { group_by: groupBy = 'user', ...query } = request.query;
    // A query string holds text only; the one boolean filter is spelt true or false.
    const rest: Record<string, unknown> = { ...query };
    if (query.via_mcp !== undefined) rest.via_mcp = query.via_mcp === 'true' ? true : query.via_mcp === 'false' ? false : query.via_mcp;
    if (groupBy !== 'user' && groupBy !== 'team' && groupBy !== 'tool') return reply.code(400).send({ error: 'group_by must be user, team or tool.' });
    const scope = scopeFor(caller);
    try {
      const tool = byName.get(groupBy === 'tool' ? 'cost_by_tool' : 'cost_by_user')!;
      const args = parseToolArgs(tool, groupBy === 'tool' ? rest : { ...rest, group_by: groupBy });
      const { report } = await runCostReport({ ...(args as unknown as Parameters<typeof runCostReport>[0]), limit: 1_000_000 }, scope.ctx, groupBy);
      const name = `mcp-blackbox-cost-by-${groupBy}-${report.window.from.slice(0, 10)}-${report.window.to.slice(0, 10)}.csv`;
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(costCsv(scope.access.protect(report)));
    } catch (error) {
      if (!isExpected(error)) throw error;
      return reply.code(400).send({ error: scope.access.protectText(error.message) });
    }
  });
}
