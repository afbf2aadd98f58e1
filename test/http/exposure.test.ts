import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AccessList } from '../../src/access/access-file.js';
import { HttpAuth } from '../../src/http/auth.js';
import { startHttpServer, type RunningHttpServer } from '../../src/http/server.js';
import { fixtureStore, auditFor } from '../mcp/harness.js';
import { lines, record, tempDir } from '../helpers.js';

const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const ADMIN_TOKEN = 'exposure-admin-token';
const withTokens = AccessList.fromUsers([{ id: 'u_root', role: 'admin', token_sha256: sha(ADMIN_TOKEN) }, { id: 'u_ana', role: 'member' }]);
const withoutTokens = AccessList.fromUsers([{ id: 'u_root', role: 'admin' }]);
// Never fetched: no probe below carries a JWT, so the key set is not needed to refuse them.
const jwt = { jwksUrl: 'http://127.0.0.1:9/jwks.json', issuer: 'https://issuer.example', audience: 'blackbox' };
const SECRET = `whsec_${Buffer.from('exposure-test-secret-32-bytes!!').toString('base64')}`;

const AUTH_OPTIONS = {
  'nothing': { auth: {}, secrets: [] },
  'webhook secret only': { auth: {}, secrets: [SECRET] },
  'access file without tokens': { auth: { access: withoutTokens }, secrets: [] },
  'access file without tokens + webhook secret': { auth: { access: withoutTokens }, secrets: [SECRET] },
  'access file with tokens': { auth: { access: withTokens }, secrets: [] },
  'JWT': { auth: { jwt }, secrets: [] },
  'access file with tokens + webhook secret': { auth: { access: withTokens }, secrets: [SECRET] },
  'JWT + webhook secret': { auth: { jwt }, secrets: [SECRET] },
} as const;

type Expected = { starts: false } | { starts: true; mcpWithoutToken: number; ingestWithoutAuth: number; healthFigures: boolean };

/** What every combination of bind address and auth option must do. */
const EXPECTED: Record<'loopback' | 'public', Record<keyof typeof AUTH_OPTIONS, Expected>> = {
  loopback: {
    'nothing': { starts: true, mcpWithoutToken: 200, ingestWithoutAuth: 200, healthFigures: true },
    'webhook secret only': { starts: true, mcpWithoutToken: 200, ingestWithoutAuth: 401, healthFigures: true },
    'access file without tokens': { starts: true, mcpWithoutToken: 401, ingestWithoutAuth: 401, healthFigures: false },
    'access file without tokens + webhook secret': { starts: true, mcpWithoutToken: 401, ingestWithoutAuth: 401, healthFigures: false },
    'access file with tokens': { starts: true, mcpWithoutToken: 401, ingestWithoutAuth: 401, healthFigures: false },
    'JWT': { starts: true, mcpWithoutToken: 401, ingestWithoutAuth: 401, healthFigures: false },
    'access file with tokens + webhook secret': { starts: true, mcpWithoutToken: 401, ingestWithoutAuth: 401, healthFigures: false },
    'JWT + webhook secret': { starts: true, mcpWithoutToken: 401, ingestWithoutAuth: 401, healthFigures: false },
  },
  public: {
    'nothing': { starts: false },
    'webhook secret only': { starts: false },
    'access file without tokens': { starts: false },
    'access file without tokens + webhook secret': { starts: false },
    'access file with tokens': { starts: true, mcpWithoutToken: 401, ingestWithoutAuth: 401, healthFigures: false },
    'JWT': { starts: true, mcpWithoutToken: 401, ingestWithoutAuth: 401, healthFigures: false },
    'access file with tokens + webhook secret': { starts: true, mcpWithoutToken: 401, ingestWithoutAuth: 401, healthFigures: false },
    'JWT + webhook secret': { starts: true, mcpWithoutToken: 401, ingestWithoutAuth: 401, healthFigures: false },
  },
};

const mcpList = (url: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'unmask_execution', arguments: { execution_id: 'wf_fail', reason: 'attacker wants the raw data' } } }),
  });

describe('exposure: every bind address x auth option', () => {
  for (const bind of ['loopback', 'public'] as const) {
    for (const [name, option] of Object.entries(AUTH_OPTIONS) as Array<[keyof typeof AUTH_OPTIONS, (typeof AUTH_OPTIONS)[keyof typeof AUTH_OPTIONS]]>) {
      const expected = EXPECTED[bind][name];
      it(`${bind} bind, ${name}: ${expected.starts ? `starts; /mcp without a token ${expected.mcpWithoutToken}` : 'refuses to start'}`, async () => {
        const store = await fixtureStore();
        const host = bind === 'loopback' ? '127.0.0.1' : '0.0.0.0';
        const start = () =>
          startHttpServer({ host, port: 0 }, { store, clock: store.clock, audit: auditFor(store), auth: new HttpAuth(option.auth), webhookSecrets: option.secrets, log: () => undefined });
        if (!expected.starts) {
          await expect(start()).rejects.toThrow(/Refusing to listen on 0\.0\.0\.0 .*Add caller authentication for \/mcp: an access file with token_sha256 .* or JWT verification/);
          return;
        }
        const server: RunningHttpServer = await start();
        try {
          // Reached through loopback; on a 0.0.0.0 bind that is one of the interfaces it answers on.
          const url = `http://127.0.0.1:${new URL(server.url).port}`;
          const mcp = await mcpList(url);
          expect(mcp.status).toBe(expected.mcpWithoutToken);
          if (expected.mcpWithoutToken === 200) {
            // Local mode on loopback is the admin, as documented.
            expect(JSON.stringify(await mcp.json())).toContain('"audit_seq"');
          }
          if ('access' in option.auth && option.auth.access === withTokens) {
            expect((await mcpList(url, { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(200);
          }
          const ingest = await fetch(`${url}/v1/executions`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: lines(record('exposure_probe')) });
          expect(ingest.status).toBe(expected.ingestWithoutAuth);
          const health = await (await fetch(`${url}/healthz`)).json();
          expect(health.status).toBe('ok');
          expect('executions' in health).toBe(expected.healthFigures);
          // The banner states each route's rule.
          expect(server.banner).toMatch(/POST \/mcp: /);
          expect(server.banner).toMatch(/POST \/v1\/executions, POST \/v1\/traces: /);
          if (expected.mcpWithoutToken === 200) expect(server.banner).toContain('every caller is the local admin (loopback only)');
          else expect(server.banner).not.toContain('local admin');
          if (option.secrets.length) expect(server.banner).toContain('Standard Webhooks signature (1 secret)');
        } finally {
          await server.close();
        }
      });
    }
  }

  it('the CLI refuses a public bind with only a webhook secret, exit 2, and says what to add', () => {
    const dir = tempDir();
    const result = spawnSync(process.execPath, [join(process.cwd(), 'dist/cli/main.js'), 'serve', '--db', join(dir, 'x.duckdb'), '--http', '0.0.0.0:0', '--webhook-secret', SECRET], {
      encoding: 'utf8',
      env: { ...process.env, MCP_BLACKBOX_DB: '' },
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--webhook-secret authenticates ingest only, not the callers of \/mcp/);
    expect(result.stderr).toMatch(/--access FILE/);
  });
});
