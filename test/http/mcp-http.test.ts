import { createServer as createPlainServer, type Server } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtureStore } from '../mcp/harness.js';
import { bearer, startHttp, TOKENS } from './harness.js';

const clients: Client[] = [];
const servers: Server[] = [];
afterEach(async () => {
  while (clients.length) await clients.pop()!.close();
  while (servers.length) await new Promise((r) => servers.pop()!.close(r));
});

async function mcpClient(url: string, token?: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: token ? bearer(token) : {} } });
  const client = new Client({ name: 'http-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

describe('MCP over Streamable HTTP', () => {
  it('serves the same tools; masking and unmask rights follow the token', async () => {
    const store = await fixtureStore();
    const { url } = await startHttp(store);
    const ben = await mcpClient(url, TOKENS.ben);
    expect((await ben.listTools()).tools.map((t) => t.name)).toContain('who_drove_spike');
    const masked = await ben.callTool({ name: 'trace_execution', arguments: { execution_id: 'wf_fail' } });
    expect((masked.structuredContent as any).payloads).toBe('masked');
    const denied = await ben.callTool({ name: 'unmask_execution', arguments: { execution_id: 'wf_fail', reason: 'I want to see it all' } });
    expect(denied.isError).toBe(true);

    const ana = await mcpClient(url, TOKENS.ana);
    const own = await ana.callTool({ name: 'trace_execution', arguments: { execution_id: 'wf_fail' } });
    expect((own.structuredContent as any).execution.input).toEqual({ account: 'ACME', owner_email: 'ana@example.com' });

    const root = await mcpClient(url, TOKENS.root);
    const unmasked = await root.callTool({ name: 'unmask_execution', arguments: { execution_id: 'wf_fail', reason: 'INC-9: audit of the failed sync' } });
    expect((unmasked.structuredContent as any).input.account).toBe('ACME');
    const audit = await root.callTool({ name: 'audit_log', arguments: {} });
    expect((audit.structuredContent as any).events.map((e: any) => [e.actor, e.action])).toEqual([
      ['u_root', 'unmask'], ['u_ana', 'view_execution'], ['u_ben', 'unmask_denied'], ['u_ben', 'view_execution'],
    ]);
  });

  it('refuses a missing or bad token with 401 and the resource metadata, and ingest tokens with 403', async () => {
    const store = await fixtureStore();
    const { url } = await startHttp(store);
    const post = (headers: Record<string, string>) =>
      fetch(`${url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    const none = await post({});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource"/);
    expect((await post(bearer('nope'))).status).toBe(401);
    expect((await post(bearer(TOKENS.gateway))).status).toBe(403);
    const metadata = await (await fetch(`${url}/.well-known/oauth-protected-resource`)).json();
    expect(metadata).toMatchObject({ resource: `${url}/mcp`, bearer_methods_supported: ['header'] });
    expect((await fetch(`${url}/mcp`)).status).toBe(405);
  });

  it('OAuth resource server mode: JWTs verified against a JWKS on loopback, with issuer, audience and expiry checks', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const jwks = createPlainServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })));
    servers.push(jwks);
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks.json`;
    const issuer = 'https://auth.example.test';
    const audience = 'mcp-blackbox-test';
    const store = await fixtureStore();
    const { url } = await startHttp(store, { access: null, jwt: { jwksUrl, issuer, audience, roleClaim: 'mcp_role' } });
    const sign = (claims: Record<string, unknown>, opts: { iss?: string; aud?: string; exp?: string | number } = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(opts.iss ?? issuer)
        .setAudience(opts.aud ?? audience)
        .setSubject(String(claims.sub ?? 'u_ben'))
        .setIssuedAt()
        .setExpirationTime(opts.exp ?? '5m')
        .sign(privateKey);

    const ben = await mcpClient(url, await sign({ sub: 'u_ben', mcp_role: 'member' }));
    const trace = await ben.callTool({ name: 'trace_execution', arguments: { execution_id: 'wf_fail' } });
    expect((trace.structuredContent as any).payloads).toBe('masked');
    const admin = await mcpClient(url, await sign({ sub: 'u_root', mcp_role: 'admin' }));
    expect((await admin.callTool({ name: 'audit_log', arguments: {} })).isError).toBeFalsy();

    const status = async (token: string) => {
      const res = await fetch(`${url}/mcp`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
      return { status: res.status, error: ((await res.json()) as { error?: string }).error, auth: res.headers.get('www-authenticate') };
    };
    const wrongAudience = await status(await sign({ sub: 'u_ben' }, { aud: 'another-api' }));
    expect(wrongAudience).toMatchObject({ status: 401, error: expect.stringMatching(/aud/) });
    expect(wrongAudience.auth).toContain('resource_metadata=');
    expect(await status(await sign({ sub: 'u_ben' }, { iss: 'https://evil.example' }))).toMatchObject({ status: 401, error: expect.stringMatching(/iss/) });
    expect(await status(await sign({ sub: 'u_ben' }, { exp: Math.floor(Date.now() / 1000) - 60 }))).toMatchObject({ status: 401, error: expect.stringMatching(/expired/) });
    const metadata = await (await fetch(`${url}/.well-known/oauth-protected-resource`)).json();
    expect(metadata.authorization_servers).toEqual([issuer]);
  });
});
