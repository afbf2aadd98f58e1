import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { UserInputError } from '../../errors.js';
import { DEFAULT_PAYLOAD_CAP } from '../../record/recorder.js';
import { defaultSpoolDir } from '../../record/shipper.js';
import { wrap } from '../../record/wrap.js';
import { parseByteSize } from '../../byte-size.js';
import { ENV } from '../config.js';

export interface WrapFlags {
  server?: string;
  user?: string;
  env?: string;
  to?: string;
  token?: string;
  spool?: string;
  payloadCap?: string;
  retryDelays?: string;
  annotateErrors?: boolean;
}

/** The person behind the client: --user, else MCP_BLACKBOX_USER, else the OS account that launched it. */
export function wrapUser(flags: WrapFlags, env: NodeJS.ProcessEnv): string {
  if (flags.user) return flags.user;
  if (env[ENV.user]) return env[ENV.user]!;
  try {
    return userInfo().username;
  } catch {
    return env.USER || env.USERNAME || 'unknown';
  }
}

export async function wrapCommand(command: string, args: string[], flags: WrapFlags): Promise<number> {
  const env = process.env;
  const url = flags.to ?? env[ENV.url];
  if (url && !isHttpUrl(url)) {
    throw new UserInputError(`--to must be the URL of an mcp-blackbox HTTP server, like http://127.0.0.1:8765; got ${JSON.stringify(url)}`);
  }
  const cap = flags.payloadCap ? parseByteSize(flags.payloadCap) : DEFAULT_PAYLOAD_CAP;
  if (cap === undefined || cap < 256) throw new UserInputError(`--payload-cap must be a size of at least 256 bytes, like 64KiB; got ${JSON.stringify(flags.payloadCap)}`);
  const retryDelaysMs = flags.retryDelays?.split(',').map((x) => Number(x.trim()));
  if (retryDelaysMs && !retryDelaysMs.every((ms) => Number.isInteger(ms) && ms >= 0 && ms <= 60_000)) {
    throw new UserInputError(`--retry-delays takes waits in milliseconds, comma-separated, like 250,1000,4000; got ${JSON.stringify(flags.retryDelays)}`);
  }
  // stdout belongs to the protocol: everything wrap has to say goes to stderr.
  const log = (line: string) => process.stderr.write(`${line}\n`);
  return wrap({
    command,
    args,
    recorder: { user: wrapUser(flags, env), server: flags.server, environment: flags.env, payloadCap: cap },
    shipper: { url, token: flags.token ?? env[ENV.token], spoolDir: resolve(flags.spool ?? env[ENV.spool] ?? defaultSpoolDir(env)), retryDelaysMs, log },
    annotateErrors: flags.annotateErrors,
    input: process.stdin,
    output: process.stdout,
    log,
  });
}

/** An http(s) URL: `localhost:8765` parses as a URL too (scheme "localhost:"), and would fail at every post. */
export function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}
