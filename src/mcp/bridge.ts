import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/**
 * Joins a stdio MCP client to an MCP server over Streamable HTTP: every message from the client
 * is sent to `${url}/mcp`, every message back is written to stdout. For clients that only launch
 * stdio servers, and for a second `serve` on a database another server owns. Resolves when the
 * client goes away.
 */
export async function bridgeStdioToHttp(url: string, headers: Record<string, string>, log: (line: string) => void): Promise<void> {
  const remote = new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers } });
  const local = new StdioServerTransport();
  let closed = false;
  const done = new Promise<void>((resolve) => {
    local.onclose = () => {
      closed = true;
      void remote.close().finally(resolve);
    };
  });
  local.onmessage = (message: JSONRPCMessage) => {
    remote.send(message).catch((error: unknown) => {
      const why = error instanceof Error ? error.message : String(error);
      log(`connect: ${url} did not take a message: ${why}`);
      // A request must get an answer, or the client waits for ever.
      if ('id' in message && 'method' in message) {
        void local.send({ jsonrpc: '2.0', id: message.id, error: { code: -32000, message: `mcp-blackbox at ${url} is unreachable or refused the request: ${why}` } });
      }
    });
  };
  remote.onmessage = (message) => {
    if (!closed) void local.send(message);
  };
  remote.onerror = (error) => log(`connect: ${url}: ${error.message}`);
  await remote.start();
  await local.start();
  return done;
}
