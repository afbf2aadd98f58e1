import { createServer as createPlainServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/server';
import { fixtureStore, connect, call } from '../mcp/harness.js';
import { bearer, startHttp, TOKENS } from '../http/harness.js';
import { VIEW_TOOLS } from '../../src/mcp/apps/views.js';
import { costCsv } from '../../src/web/csv.js';
import { Sessions, SignInThrottle } from '../../src/web/session.js';
import { smallFleet } from '../fixtures/small-fleet.js';

type Json = Record<string, any>;

/** A browser's side of the dashboard API: a cookie jar of one cookie, and the CSRF token the session gave. */
class Browser {
  cookie?: string;
  csrf?: string;
  setCookie?: string;
  constructor(readonly url: string) {}

  async signIn(token: string): Promise<Response> {
    const response = await fetch(`${this.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    if (response.ok) this.keep(response, await response.clone().json());
    return response;
  }

  keep(response: Response, body: Json): void {
    this.setCookie = response.headers.get('set-cookie') ?? undefined;
    this.cookie = this.setCookie?.split(';')[0];
    this.csrf = body.csrf;
  }

  tool(name: string, args: Json = {}, options: { csrf?: string | null } = {}): Promise<Response> {
    const csrf = options.csrf === undefined ? this.csrf : options.csrf;
    return fetch(`${this.url}/api/tools/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.cookie ? { cookie: this.cookie } : {}), ...(csrf ? { 'x-csrf-token': csrf } : {}) },
      body: JSON.stringify(args),
    });
  }
}

describe('dashboard API: sign-in, sessions, CSRF', () => {
  it('exchanges a token for an HttpOnly SameSite=Strict cookie with an expiry; bad and ingest tokens are refused', async () => {
    const store = await fixtureStore();
    const { url } = await startHttp(store);
    const ben = new Browser(url);
    expect((await ben.signIn('not-a-token')).status).toBe(401);
    expect((await ben.signIn(TOKENS.gateway)).status).toBe(403);
    const bad = await fetch(`${url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/token/);
    const ok = await ben.signIn(TOKENS.ben);
    expect(ok.status).toBe(200);
    expect(ben.setCookie).toMatch(/^mcp_blackbox_session=[\w-]{40,}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    const me = await (await fetch(`${url}/api/session`, { headers: { cookie: ben.cookie! } })).json();
    expect(me).toMatchObject({ user: 'u_ben', role: 'member', local: false });
    expect(Date.parse(me.expires_at) - Date.now()).toBeGreaterThan(7.9 * 3600_000);
    // No session, no data: this listener is not local.
    expect((await new Browser(url).tool('usage_summary')).status).toBe(401);
    const stranger = await fetch(`${url}/api/session`);
    expect(stranger.status).toBe(401);
    expect(await stranger.json()).toEqual({ error: 'Not signed in.' });
  });

  it('a cookie alone is not enough: the CSRF header must match the session', async () => {
    const store = await fixtureStore();
    const { url } = await startHttp(store);
    const ana = new Browser(url);
    await ana.signIn(TOKENS.ana);
    expect((await ana.tool('usage_summary', {}, { csrf: null })).status).toBe(403);
    expect((await ana.tool('usage_summary', {}, { csrf: 'guessed' })).status).toBe(403);
    const other = new Browser(url);
    await other.signIn(TOKENS.ben);
    // Another session's token does not fit this cookie.
    expect((await ana.tool('usage_summary', {}, { csrf: other.csrf! })).status).toBe(403);
    expect((await ana.tool('usage_summary')).status).toBe(200);
    // A cross-site form post carries an Origin of another site: refused before any handler.
    const forged = await fetch(`${url}/api/tools/usage_summary`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: ana.cookie!, 'x-csrf-token': ana.csrf!, origin: 'https://evil.example' }, body: '{}' });
    expect(forged.status).toBe(403);
    // Signing out ends the session on the server.
    const out = await fetch(`${url}/api/session`, { method: 'DELETE', headers: { cookie: ana.cookie!, 'x-csrf-token': ana.csrf! } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect((await ana.tool('usage_summary')).status).toBe(401);
  });

  it('OAuth mode: a JWT signs in as its subject and role, and the session ends when the JWT does', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const jwks = createPlainServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    try {
      const issuer = 'https://auth.example.test';
      const audience = 'mcp-blackbox-test';
      const store = await fixtureStore();
      const { url } = await startHttp(store, { access: null, jwt: { jwksUrl: `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks.json`, issuer, audience } });
      const exp = Math.floor(Date.now() / 1000) + 120;
      const sign = (expiry: number) => new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(issuer).setAudience(audience).setSubject('u_jwt').setIssuedAt().setExpirationTime(expiry).sign(privateKey);
      const browser = new Browser(url);
      const expired = await browser.signIn(await sign(Math.floor(Date.now() / 1000) - 60));
      expect(expired.status).toBe(401);
      expect((await expired.json()).error).toMatch(/expired/);
      const ok = await browser.signIn(await sign(exp));
      expect(ok.status).toBe(200);
      const session = await ok.json();
      expect(session).toMatchObject({ user: 'u_jwt', role: 'admin' });
      expect(Date.parse(session.expires_at)).toBe(exp * 1000);
      const maxAge = Number(/Max-Age=(\d+)/.exec(browser.setCookie!)![1]);
      expect(maxAge).toBeGreaterThan(100);
      expect(maxAge).toBeLessThanOrEqual(120);
      expect((await browser.tool('audit_log')).status).toBe(200);
    } finally {
      await new Promise((r) => jwks.close(r));
    }
  });

  it('sign-in is throttled per address after repeated failures', async () => {
    const store = await fixtureStore();
    const { url } = await startHttp(store);
    const browser = new Browser(url);
    for (let i = 0; i < 10; i++) expect((await browser.signIn(`wrong-${i}`)).status).toBe(401);
    const throttled = await browser.signIn(TOKENS.ana);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await throttled.json()).error).toMatch(/Too many failed sign-ins/);

    let now = 0;
    const throttle = new SignInThrottle(() => now, 3, 60_000);
    for (let i = 0; i < 3; i++, now += 1000) throttle.failed('a');
    // Failures at 0, 1 and 2 s; now 3 s: the one at 0 leaves the window at 60 s.
    expect(throttle.retryAfter('a')).toBe(57_000);
    expect(throttle.retryAfter('b')).toBe(0);
    now = 60_001;
    expect(throttle.retryAfter('a')).toBe(0);
  });

  it('sessions expire', () => {
    let now = 1_000_000;
    const sessions = new Sessions(() => now, 60_000);
    const { cookie } = sessions.open({ id: 'u_ana', role: 'member' });
    expect(sessions.find(cookie)?.caller.id).toBe('u_ana');
    now += 60_000;
    expect(sessions.find(cookie)).toBeUndefined();
    // A credential that expires sooner ends its session sooner.
    const { cookie: short } = sessions.open({ id: 'u_jwt', role: 'member' }, now + 10_000);
    now += 10_000;
    expect(sessions.find(short)).toBeUndefined();
  });

  it('answers as the tools answer: the same masking for a member, admin-only tools refused, bad arguments explained', async () => {
    const store = await fixtureStore();
    const { url } = await startHttp(store);
    const ben = new Browser(url);
    await ben.signIn(TOKENS.ben);
    const trace = await (await ben.tool('trace_execution', { execution_id: 'wf_fail' })).json();
    expect(trace.structured.payloads).toBe('masked');
    expect(JSON.stringify(trace)).not.toContain('ACME');
    const viaMcp = await call(await connect(store, { id: 'u_ben', role: 'member' }), 'trace_execution', { execution_id: 'wf_fail' });
    expect(trace.structured.execution.input).toEqual(viaMcp.structuredContent.execution.input);

    const audit = await ben.tool('audit_log');
    expect(audit.status).toBe(403);
    expect((await audit.json()).error).toMatch(/admins/i);
    const unmask = await ben.tool('unmask_execution', { execution_id: 'wf_fail', reason: 'curious about it all' });
    expect(unmask.status).toBe(403);

    const badArgs = await ben.tool('usage_summary', { window: '7d', bucket: 'fortnight' });
    expect(badArgs.status).toBe(400);
    expect((await badArgs.json()).error).toMatch(/bucket/);
    const unknownArg = await ben.tool('usage_summary', { windw: '7d' });
    expect(unknownArg.status).toBe(400);
    expect((await unknownArg.json()).error).toMatch(/windw/);
    expect((await ben.tool('no_such_tool')).status).toBe(404);
    expect((await ben.tool('trace_execution', { execution_id: 'nope' })).status).toBe(404);

    // Scripts use a bearer token instead of a cookie (no CSRF: a browser never adds one by itself).
    const scripted = await fetch(`${url}/api/tools/usage_summary`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(TOKENS.root) }, body: '{"window":"30d"}' });
    expect(scripted.status).toBe(200);
    expect((await fetch(`${url}/api/tools/usage_summary`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(TOKENS.gateway) }, body: '{}' })).status).toBe(403);
  });

  it('the admin unmask from the dashboard is audited before the data is returned', async () => {
    const store = await fixtureStore();
    const { url } = await startHttp(store);
    const root = new Browser(url);
    await root.signIn(TOKENS.root);
    const answer = await (await root.tool('unmask_execution', { execution_id: 'wf_fail', reason: 'INC-12: which account failed' })).json();
    expect(answer.structured.input.account).toBe('ACME');
    const events = (await (await root.tool('audit_log')).json()).structured.events;
    expect(events[0]).toMatchObject({ seq: answer.structured.audit_seq, actor: 'u_root', action: 'unmask', target: 'wf_fail', reason: 'INC-12: which account failed' });
  });

  it('pages carry a CSP of our own scripts only; the shell and assets need no sign-in', async () => {
    const store = await fixtureStore();
    const { url } = await startHttp(store);
    for (const path of ['/', '/overview', '/drill?tool=x', '/trace/wf_fail', '/audit']) {
      const page = await fetch(`${url}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      const html = await page.text();
      expect(html).not.toMatch(/<script>|https?:\/\//);
    }
    const js = await fetch(`${url}/assets/dashboard.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await js.text()).length).toBeGreaterThan(10_000);
    // A token in a URL is refused (it would land in logs and history).
    expect((await fetch(`${url}/overview?access_token=${TOKENS.root}`)).status).toBe(400);
  });

  it('local mode (loopback, no access file): the browser is the local admin without signing in', async () => {
    const store = await fixtureStore();
    const { url } = await startHttp(store, { access: null });
    const first = await fetch(`${url}/api/session`);
    const body = await first.json();
    expect(body).toMatchObject({ user: 'local', role: 'admin', local: true });
    const browser = new Browser(url);
    browser.keep(first, body);
    expect((await browser.tool('audit_log')).status).toBe(200);
  });
});

describe('cost CSV for chargeback', () => {
  it('every row, per user, team or tool, for the window; names that look like formulas are written as text', async () => {
    const records = smallFleet();
    records.push({ ...records[0], execution_id: 'evil_1', user: { id: '=HYPERLINK("http://x")', team: 'eng' } });
    // A secret where a name should be: the CSV passes the redactor like every answer.
    records.push({ ...records[0], execution_id: 'leaky_1', user: { id: 'AKIAIOSFODNN7EXAMPLE', team: 'eng' } });
    const store = await fixtureStore(records);
    const { url } = await startHttp(store);
    const get = (query: string, token = TOKENS.root) => fetch(`${url}/api/cost.csv?${query}`, { headers: bearer(token) });
    const teams = await get('group_by=team&window=30d');
    expect(teams.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(teams.headers.get('content-disposition')).toBe('attachment; filename="mcp-blackbox-cost-by-team-2026-10-02-2026-11-01.csv"');
    const rows = (await teams.text()).trim().split('\r\n').map((l) => l.split(','));
    expect(rows[0]).toEqual(['team', 'tasks', 'cost_usd', 'executions', 'share_of_tasks', 'previous_tasks', 'change_tasks', 'window_from', 'window_to']);
    // Counted from the fixture: in the 30 days before 11-01, revops (u_ana) ran 2 jira calls a day
    // for 21 days plus wf_ok (5 tasks) and wf_fail (4); eng (u_ben) one slack call a day plus the
    // two injected ones; platform (u_bot) the 20 spike calls.
    const byTeam = Object.fromEntries(rows.slice(1).map((r) => [r[0], Number(r[1])]));
    expect(byTeam).toEqual({ revops: 42 + 5 + 4, eng: 21 + 2, platform: 20 });
    const users = await (await get('group_by=user&window=30d')).text();
    expect(users).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(users).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(users).toMatch(/REDACTED/i);
    expect((await get('group_by=galaxy')).status).toBe(400);
    expect((await get('group_by=user&window=fortnight')).status).toBe(400);
  });

  it('writes CSV by RFC 4180: quotes, commas and line breaks inside a cell', () => {
    const csv = costCsv({
      window: { from: 'a', to: 'b' }, previous_window: { from: 'a', to: 'b' }, filters: {}, group_by: 'user', total_tasks: 1, total_cost_usd: null, previous_total_tasks: 0,
      executions_without_cost_usd: 0, executions: 1, share_with_cost_usd: null, executions_with_default_tasks: 0, previous_window_caveat: null, has_more: false,
      rows: [{ key: 'a "b", c\nd', tasks: 1, cost_usd: 0.5, executions: 1, share_of_tasks: 1, previous_tasks: 0, change_tasks: 1, top: [] }],
    } as any);
    expect(csv.split('\r\n')[1]).toBe('"a ""b"", c\nd",1,0.5,1,1,0,1,a,b');
  });
});

describe('MCP Apps views', () => {
  it('six tools declare a ui:// view; resources/list and resources/read serve self-contained HTML on stdio and HTTP alike', async () => {
    const store = await fixtureStore();
    const local = await connect(store);
    const { url } = await startHttp(store);
    const remote = new Client({ name: 'apps-test', version: '1' });
    await remote.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: bearer(TOKENS.ana) } }));
    try {
      for (const client of [local, remote]) {
        const tools = (await client.listTools()).tools;
        const withViews = tools.filter((t) => (t._meta as Json | undefined)?.ui?.resourceUri).map((t) => [t.name, (t._meta as Json).ui.resourceUri]);
        expect(withViews).toEqual(VIEW_TOOLS.map((name) => [name, `ui://mcp-blackbox/${name}`]));
        const resources = (await client.listResources()).resources;
        expect(resources.map((r) => [r.uri, r.mimeType])).toEqual(VIEW_TOOLS.map((name) => [`ui://mcp-blackbox/${name}`, RESOURCE_MIME_TYPE]));
        const read = await client.readResource({ uri: 'ui://mcp-blackbox/usage_summary' });
        const content = read.contents[0] as Json;
        expect(content.mimeType).toBe('text/html;profile=mcp-app');
        // One file: no script, style or image fetched from anywhere.
        expect(content.text).toContain('<meta name="mcp-blackbox-view" content="usage_summary">');
        expect(content.text).not.toMatch(/<script[^>]+src=|<link[^>]+href=|@import/);
        expect(content.text.length).toBeGreaterThan(50_000);
      }
      // A client that renders no apps gets the same text answer: the view changes nothing in it.
      const answer = await call(local, 'usage_summary', { window: '7d' });
      expect(answer.content.map((c) => c.type)).toEqual(['text', 'text']);
    } finally {
      await remote.close();
    }
  });
});
