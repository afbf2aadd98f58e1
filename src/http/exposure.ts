import { UserInputError } from '../errors.js';
import type { HttpAuth } from './auth.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host.toLowerCase()) || host.startsWith('127.');
}

/**
 * Who may do what on one listener, decided once from the bind address and the configured auth,
 * and stated route by route in the start banner. The rule: a listener that other machines can
 * reach never answers /mcp (or anything that reads the fleet) without caller authentication. A
 * webhook secret proves who sent data, not who reads it, so it never opens /mcp.
 */
export interface Exposure {
  host: string;
  loopback: boolean;
  /** No caller authentication at all: every request is the local admin (loopback only). */
  localMode: boolean;
  /** What each route accepts, for the banner. */
  routes: Array<{ route: string; accepts: string }>;
}

export function planExposure(host: string, auth: HttpAuth, webhookSecrets: readonly string[]): Exposure {
  const loopback = isLoopback(host);
  const callerMethods = auth.callerMethods;
  const webhook = webhookSecrets.length > 0
    ? `a Standard Webhooks signature (${webhookSecrets.length} secret${webhookSecrets.length === 1 ? '' : 's'})`
    : undefined;
  if (!loopback && callerMethods.length === 0) {
    const what = auth.configured
      ? 'the access file gives no user a token_sha256, so nobody could sign in'
      : webhook
        ? '--webhook-secret authenticates ingest only, not the callers of /mcp'
        : 'no authentication is configured';
    throw new UserInputError(
      `Refusing to listen on ${host} (reachable from other machines): ${what}, and anyone who can reach the port would read the fleet's data as an admin. ` +
        'Add caller authentication for /mcp: an access file with token_sha256 for its users (--access FILE), or JWT verification (--jwks-url, --jwt-issuer, --jwt-audience). Or bind 127.0.0.1.',
    );
  }
  // With an access file the server is never in local mode, even if no user has a token (that
  // file serves stdio's --as): then /mcp answers nobody rather than everybody.
  const localMode = !auth.configured;
  const nobody = 'nobody: the access file gives no user a token_sha256, so every request gets 401';
  const mcp = localMode
    ? 'no token: every caller is the local admin (loopback only)'
    : callerMethods.length > 0 ? `${callerMethods.join(', or ')}; anything else gets 401` : nobody;
  const ingestMethods = [
    ...(callerMethods.length > 0 ? [`${callerMethods.join(' or ')} of a user with role ingest or admin`] : []),
    ...(webhook ? [webhook] : []),
  ];
  const ingest = ingestMethods.length > 0
    ? `${ingestMethods.join(', or ')}; anything else gets 401`
    : localMode ? 'no token: anyone on this machine may send data (loopback only)' : nobody;
  return {
    host,
    loopback,
    localMode,
    routes: [
      { route: 'POST /mcp', accepts: mcp },
      { route: 'POST /v1/executions, POST /v1/traces', accepts: ingest },
      { route: 'GET /healthz', accepts: localMode ? 'open' : 'open for liveness ({"status"}); the store figures need a token' },
      { route: 'GET /.well-known/oauth-protected-resource', accepts: 'open (RFC 9728 metadata)' },
    ],
  };
}

/** The banner lines that say exactly which route accepts what. */
export function describeExposure(exposure: Exposure): string {
  return [
    `auth on ${exposure.host} (${exposure.loopback ? 'loopback only' : 'reachable from other machines'}):`,
    ...exposure.routes.map((r) => `  ${r.route}: ${r.accepts}`),
  ].join('\n');
}
