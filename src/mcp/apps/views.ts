import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { registerAppResource, RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/server';
import { builtFile } from '../../built-files.js';

/**
 * MCP Apps views: the chart a host that renders apps shows beside a tool's text answer. One
 * bundled page (view/, built into dist/mcp/apps/view.html with its script and styles inline, so
 * it runs under the host's default CSP with no network) serves every view; each tool has its own
 * ui:// address, and the page learns from it which answer it draws.
 */
export const VIEW_TOOLS = ['usage_summary', 'who_drove_spike', 'cost_by_user', 'cost_by_tool', 'failure_report', 'trace_execution'] as const;
export type ViewTool = (typeof VIEW_TOOLS)[number];

export const viewUri = (tool: ViewTool): string => `ui://mcp-blackbox/${tool}`;

/** What a tool declares: the `_meta.ui.resourceUri` of the MCP Apps extension. */
export const appView = (tool: ViewTool) => ({ ui: { resourceUri: viewUri(tool) } });

export function viewHtml(tool: ViewTool): string {
  return builtFile('mcp/apps/view.html').toString('utf8').replace('/*VIEW*/', tool);
}

const TITLES: Record<ViewTool, string> = {
  usage_summary: 'Executions by status over time; a bar drills to its tools, then executions',
  who_drove_spike: 'Who drove the spike: contributors by excess; a user drills to their executions',
  cost_by_user: 'Tasks and cost per user or team',
  cost_by_tool: 'Tasks and cost per tool',
  failure_report: 'Failures by layer and error type; a group opens its sample trace',
  trace_execution: 'One execution: steps, auth per step, the failing step',
};

/** resources/list and resources/read of the views, on stdio and HTTP alike (both build the server here). */
export function registerViews(server: McpServer): void {
  for (const tool of VIEW_TOOLS) {
    const uri = viewUri(tool);
    registerAppResource(server, `${tool} view`, uri, { description: TITLES[tool], mimeType: RESOURCE_MIME_TYPE }, async () => ({
      contents: [{ uri, mimeType: RESOURCE_MIME_TYPE, text: viewHtml(tool), _meta: { ui: { prefersBorder: true } } }],
    }));
  }
}
