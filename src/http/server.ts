import type { FastifyInstance } from 'fastify';
import { UserInputError } from '../errors.js';
import { buildHttpApp, type HttpAppOptions } from './app.js';
import { describeExposure, isLoopback, planExposure, type Exposure } from './exposure.js';

const closing = new WeakSet<FastifyInstance>();

/**
 * `8080`, `:8080`, `127.0.0.1:8080`, `localhost:8080`, `[::1]:8080`, `0.0.0.0:8080` to host and
 * port (127.0.0.1 when no host is given). A host needs its colon: `9000` is a port, not host `900`.
 */
export function parseListen(value: string, flag = '--http'): { host: string; port: number } {
  const match = /^(?:(?:\[([^\]]+)\]|([^:[\]]+))?:)?(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UserInputError(`${flag} takes [HOST:]PORT, like 8080, 127.0.0.1:8080 or [::1]:8080; got ${JSON.stringify(value)}`);
  }
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
}

export interface RunningHttpServer {
  app: FastifyInstance;
  url: string;
  /** Who may do what on this listener. */
  exposure: Exposure;
  /** The lines that state it, for the start banner. */
  banner: string;
  /** Stops accepting, lets in-flight requests finish (their batches commit), then resolves. */
  close(): Promise<void>;
}

export async function startHttpServer(
  listen: { host: string; port: number },
  options: Omit<HttpAppOptions, 'allowedHostnames' | 'publicUrl' | 'localMode'> & { extraHostnames?: string[]; publicUrl?: string },
): Promise<RunningHttpServer> {
  const exposure = planExposure(listen.host, options.auth, options.webhookSecrets);
  let url = '';
  // Loopback names stay allowed on any bind: a page on another site cannot make a browser send
  // them (DNS rebinding needs a name the attacker controls).
  const hostnames = ['127.0.0.1', 'localhost', '::1', ...(isLoopback(listen.host) ? [] : [listen.host]), ...(options.extraHostnames ?? [])];
  const app = buildHttpApp({ ...options, localMode: exposure.localMode, allowedHostnames: hostnames, publicUrl: () => options.publicUrl ?? url });
  // While closing, tell clients not to reuse their connection.
  app.addHook('onSend', async (_request, reply) => {
    if (closing.has(app)) reply.header('connection', 'close');
  });
  try {
    await app.listen({ host: listen.host, port: listen.port });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      throw new UserInputError(
        `Cannot listen on ${listen.host}:${listen.port} (${code}): ${code === 'EADDRINUSE' ? 'another process uses that port' : 'that address is not usable here'}. Pass --http with another [HOST:]PORT.`,
      );
    }
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  url = `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}`;
  return { app, url, exposure, banner: describeExposure(exposure), close: () => closeGracefully(app) };
}

/**
 * Stops accepting connections, lets in-flight requests finish (their batches commit before they
 * answer), and closes keep-alive connections as they fall idle: a client's pooled connection must
 * not hold the process open. After `hardLimitMs` whatever is left is cut.
 */
async function closeGracefully(app: FastifyInstance, hardLimitMs = 30_000): Promise<void> {
  closing.add(app);
  const sweeper = setInterval(() => app.server.closeIdleConnections(), 50);
  const hardStop = setTimeout(() => app.server.closeAllConnections(), hardLimitMs);
  try {
    await app.close();
  } finally {
    clearInterval(sweeper);
    clearTimeout(hardStop);
  }
}
