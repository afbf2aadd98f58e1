import { UserInputError } from '../../errors.js';
import { bridgeStdioToHttp } from '../../mcp/bridge.js';
import { ENV, resolveConfig, type CommonFlags } from '../config.js';
import { AS_HEADER, findOwner } from '../owner.js';
import { isHttpUrl } from './wrap.js';

export interface ConnectFlags extends CommonFlags {
  token?: string;
  as?: string;
}

/**
 * `mcp-blackbox connect [URL]`: a stdio MCP server that is any mcp-blackbox HTTP server, for
 * clients that only launch stdio servers. Without a URL, the server that owns --db on this machine.
 */
export async function connectCommand(url: string | undefined, flags: ConnectFlags): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let target: string;
  let headers: Record<string, string>;
  if (url) {
    if (!isHttpUrl(url)) throw new UserInputError(`connect takes the URL of an mcp-blackbox HTTP server, like http://127.0.0.1:8765; got ${JSON.stringify(url)}`);
    target = new URL(url).origin;
    const token = flags.token ?? process.env[ENV.token];
    headers = token ? { authorization: `Bearer ${token}` } : {};
  } else {
    const config = resolveConfig(flags, process.env);
    const owner = await findOwner(config.dbPath);
    if (!owner) throw new UserInputError(`No running server owns ${config.dbPath}: start one with mcp-blackbox serve --db ${config.dbPath}, or give connect a URL.`);
    target = owner.url;
    const as = flags.as ?? process.env[ENV.user];
    headers = { authorization: `Bearer ${owner.token}`, ...(as ? { [AS_HEADER]: as } : {}) };
  }
  log(`mcp-blackbox connect: stdio to ${target}/mcp`);
  await bridgeStdioToHttp(target, headers, log);
  return 0;
}
