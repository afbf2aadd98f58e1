import { createHash } from 'node:crypto';
import { afterEach } from 'vitest';
import { AccessList } from '../../src/access/access-file.js';
import { HttpAuth, type JwtOptions } from '../../src/http/auth.js';
import { startHttpServer, type RunningHttpServer } from '../../src/http/server.js';
import type { Store } from '../../src/store/store.js';
import { auditFor } from '../mcp/harness.js';

export const TOKENS = { root: 'root-token-123', ana: 'ana-token-456', ben: 'ben-token-789', gateway: 'gateway-token-000' };
const sha = (t: string) => createHash('sha256').update(t).digest('hex');

export const ACCESS = AccessList.fromUsers([
  { id: 'u_root', role: 'admin', token_sha256: sha(TOKENS.root) },
  { id: 'u_ana', role: 'member', token_sha256: sha(TOKENS.ana) },
  { id: 'u_ben', role: 'member', token_sha256: sha(TOKENS.ben) },
  { id: 'gateway', role: 'ingest', token_sha256: sha(TOKENS.gateway) },
]);

const running: RunningHttpServer[] = [];
afterEach(async () => {
  while (running.length) await running.pop()!.close();
});

export async function startHttp(
  store: Store,
  options: { access?: AccessList | null; jwt?: JwtOptions; webhookSecrets?: string[]; maxQueuedWrites?: number; maxBodyBytes?: number } = {},
): Promise<RunningHttpServer> {
  const server = await startHttpServer(
    { host: '127.0.0.1', port: 0 },
    {
      store,
      clock: store.clock,
      audit: auditFor(store),
      auth: new HttpAuth({ access: options.access === null ? undefined : (options.access ?? ACCESS), jwt: options.jwt }),
      webhookSecrets: options.webhookSecrets ?? [],
      maxQueuedWrites: options.maxQueuedWrites,
      maxBodyBytes: options.maxBodyBytes,
      log: () => undefined,
    },
  );
  running.push(server);
  return server;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
