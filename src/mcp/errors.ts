import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { isExpected } from '../errors.js';

/**
 * The one error boundary. An expected error (bad argument, unknown id, access denied) becomes an
 * isError result whose text tells the agent how to fix the call. Anything else is logged to stderr
 * (never stdout: it carries MCP frames) and the agent gets a generic message, never raw DuckDB text.
 */
export function errorResult(toolName: string, error: unknown, log: (line: string) => void): CallToolResult {
  if (isExpected(error)) {
    return { isError: true, content: [{ type: 'text', text: error.message }] };
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  log(`[mcp-blackbox] internal error in ${toolName}: ${detail}`);
  return {
    isError: true,
    content: [{ type: 'text', text: `${toolName} failed with an internal error (logged on the server). Retry once; if it fails again, try a narrower window or report it to the operator.` }],
  };
}
