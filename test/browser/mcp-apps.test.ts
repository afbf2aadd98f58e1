import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startHttp, TOKENS } from '../http/harness.js';
import { fixtureStore } from '../mcp/harness.js';
import { join } from 'node:path';
import { ARTIFACTS, launchChromium, pageErrors, screenshot } from './chromium.js';

let browser: Browser;
let hostScript: string;
beforeAll(async () => {
  browser = await launchChromium();
  const bundled = await build({ entryPoints: [new URL('./apps-host.ts', import.meta.url).pathname], bundle: true, format: 'iife', platform: 'browser', write: false, logLevel: 'silent' });
  hostScript = bundled.outputFiles[0]!.text;
});
afterAll(async () => {
  await browser?.close();
});

const HOST_PAGE = '<!doctype html><html><head><style>body{font:14px system-ui;margin:16px;max-width:960px} .question{background:#e7ecfb;padding:8px 12px;border-radius:8px;margin:8px 0 8px auto;width:fit-content} .answer p{white-space:pre-wrap}</style></head><body><div id="chat"></div></body></html>';

/** The host's MCP client: the SDK's, over HTTP to a server on the small fleet, as an admin. */
async function adminClientOfFixture(): Promise<Client> {
  const { url } = await startHttp(await fixtureStore());
  const client = new Client({ name: 'apps-host-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: bearer(TOKENS.root) } }));
  return client;
}

describe('MCP Apps: the usage chart inside an answer', () => {
  it('a host renders the view from a real tool result, and a click on a bar drills down by calling our tools through the host', async () => {
    const client = await adminClientOfFixture();
    try {
      const tool = (await client.listTools()).tools.find((t) => t.name === 'usage_summary')!;
      const uri = (tool._meta as { ui: { resourceUri: string } }).ui.resourceUri;
      const html = ((await client.readResource({ uri })).contents[0] as { text: string }).text;
      const args = { window: '7d' };
      const result = (await client.callTool({ name: 'usage_summary', arguments: args })) as CallToolResult;

      const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
      const errors = pageErrors(page);
      const calls: Array<{ name: string; arguments?: Record<string, unknown> }> = [];
      // The host forwards the view's tools/call to the server with its own client, as Claude or VS Code do.
      await page.exposeFunction('hostCallTool', async (params: { name: string; arguments?: Record<string, unknown> }) => {
        calls.push(params);
        return client.callTool(params);
      });
      await page.setContent(HOST_PAGE);
      await page.addScriptTag({ content: hostScript });
      await page.evaluate(([h, a, r]) => window.showAnswer(h as string, 'How busy was the fleet this week?', a as Record<string, unknown>, r as CallToolResult), [html, args, result] as const);

      const view = page.frameLocator('iframe');
      await view.locator('body[data-rendered="usage_summary"]').waitFor({ timeout: 20_000 });
      expect(await view.locator('.headline').textContent()).toContain(`${(result.structuredContent as { total_executions: number }).total_executions} executions`);
      expect(await view.locator('[data-testid=status-chart] canvas').count()).toBe(1);
      await screenshot(page, 'mcp-apps', 'usage-chart');

      // The spike day, 10-28, is the fourth of seven daily bars.
      const over = view.locator('[data-testid=status-chart] .u-over');
      const box = (await over.boundingBox())!;
      await over.click({ position: { x: box.width * (3.5 / 7), y: box.height - 4 } });
      await view.locator('[data-testid=drill][data-tool=tool_usage]').waitFor();
      expect(calls[0]).toEqual({ name: 'tool_usage', arguments: { from: '2026-10-28T00:00:00.000Z', to: '2026-10-29T00:00:00.000Z', by: 'tool', limit: 10 } });
      expect(await view.locator('[data-testid=tool-rows] tbody tr td:first-child').allTextContents()).toEqual(['jira_create_issue', 'slack_post']);

      await view.locator('[data-testid=tool-rows] tbody tr').first().click();
      await view.locator('[data-testid=drill][data-tool=list_executions]').waitFor();
      expect(calls[1]).toMatchObject({ name: 'list_executions', arguments: { tool: 'jira_create_issue', from: '2026-10-28T00:00:00.000Z' } });
      expect(await view.locator('[data-testid=executions] tbody tr').count()).toBe(20);

      await view.locator('[data-testid=executions] tbody tr', { hasText: 'bot_0' }).click();
      await view.locator('[data-testid=drill][data-tool=trace_execution]').waitFor();
      expect(calls[2]).toEqual({ name: 'trace_execution', arguments: { execution_id: 'bot_0' } });
      expect(await view.locator('[data-testid=drill]').textContent()).toContain('jira_create_issue by u_bot: failed');
      await screenshot(page, 'mcp-apps', 'usage-chart-drilled');
      // Back returns to the executions, without calling anything.
      await view.locator('[data-testid=back]').click();
      await view.locator('[data-testid=drill][data-tool=list_executions]').waitFor();
      expect(await view.locator('[data-testid=executions] tbody tr').count()).toBe(20);
      expect(calls.length).toBe(3);
      // Nothing was fetched by the view (its CSP allows no network) and nothing failed.
      expect(errors).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('every view draws its own tool\'s real answer', async () => {
    const client = await adminClientOfFixture();
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
      const errors = pageErrors(page);
      await page.exposeFunction('hostCallTool', (params: { name: string; arguments?: Record<string, unknown> }) => client.callTool(params));
      await page.setContent(HOST_PAGE);
      await page.addScriptTag({ content: hostScript });
      const cases: Array<[string, Record<string, unknown>, string]> = [
        ['who_drove_spike', { window: '7d' }, 'u_bot'],
        ['cost_by_user', { window: '30d' }, 'u_ana'],
        ['cost_by_tool', { window: '30d' }, 'jira_create_issue'],
        ['failure_report', { window: '7d' }, 'rate_limited'],
        ['trace_execution', { execution_id: 'wf_fail' }, 'Update opportunities'],
      ];
      for (const [index, [name, args, expected]] of cases.entries()) {
        const html = ((await client.readResource({ uri: `ui://mcp-blackbox/${name}` })).contents[0] as { text: string }).text;
        const result = await client.callTool({ name, arguments: args });
        await page.evaluate(([h, a, r]) => window.showAnswer(h as string, 'Show me', a as Record<string, unknown>, r as CallToolResult), [html, args, result] as const);
        const view = page.frameLocator('iframe').nth(index);
        await view.locator(`body[data-rendered="${name}"]`).waitFor({ timeout: 20_000 });
        expect(await view.locator('#app').textContent()).toContain(expected);
      }
      await screenshot(page, 'mcp-apps', 'all-views');
      // A dark host gets a dark view.
      const html = ((await client.readResource({ uri: 'ui://mcp-blackbox/usage_summary' })).contents[0] as { text: string }).text;
      const result = await client.callTool({ name: 'usage_summary', arguments: { window: '7d' } });
      await page.evaluate(([h, r]) => window.showAnswer(h as string, 'Dark?', { window: '7d' }, r as CallToolResult, 'dark'), [html, result] as const);
      const dark = page.frameLocator('iframe').nth(cases.length);
      await dark.locator('body[data-rendered="usage_summary"]').waitFor();
      expect(await dark.locator('html').getAttribute('data-theme')).toBe('dark');
      const frame = page.locator('iframe').nth(cases.length);
      await frame.scrollIntoViewIfNeeded();
      await frame.screenshot({ path: join(ARTIFACTS, 'mcp-apps', 'dark.png') });
      expect(errors).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
