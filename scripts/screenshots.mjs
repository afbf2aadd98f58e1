// The README's pictures, taken from the bundled sample fleet: the dashboard's overview, and the
// usage chart inside a chat answer (an MCP Apps host: test/browser/apps-host.ts). Run after
// `npm run build`: node scripts/screenshots.mjs (needs /usr/bin/chromium).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'docs', 'images');
mkdirSync(out, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'mcp-blackbox-shots-'));
const port = 8700 + Math.floor(Math.random() * 200);
const url = `http://127.0.0.1:${port}`;

const demo = spawn(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'demo', '--db', join(work, 'demo.duckdb'), '--http', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
await new Promise((resolve, reject) => {
  let seen = '';
  const onData = (chunk) => {
    seen += chunk;
    if (seen.includes('Ctrl-C stops the demo')) resolve();
  };
  demo.stdout.on('data', onData);
  demo.stderr.on('data', onData);
  demo.on('exit', (code) => reject(new Error(`demo exited (${code}): ${seen}`)));
});

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
const client = new Client({ name: 'screenshots', version: '1' });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 820 }, deviceScaleFactor: 1 });
  await page.goto(`${url}/overview?window=7d`);
  await page.waitForSelector('body[data-rendered="overview"]');
  await page.screenshot({ path: join(out, 'dashboard-overview.png') });

  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  const html = (await client.readResource({ uri: 'ui://mcp-blackbox/usage_summary' })).contents[0].text;
  const args = { window: '7d' };
  const result = await client.callTool({ name: 'usage_summary', arguments: args });
  const host = (await build({ entryPoints: [join(root, 'test', 'browser', 'apps-host.ts')], bundle: true, format: 'iife', platform: 'browser', write: false, logLevel: 'silent' })).outputFiles[0].text;
  const chat = await browser.newPage({ viewport: { width: 960, height: 640 } });
  await chat.exposeFunction('hostCallTool', (params) => client.callTool(params));
  await chat.setContent('<!doctype html><html><head><style>body{font:14px system-ui;margin:16px;max-width:920px} .question{background:#e7ecfb;padding:8px 12px;border-radius:8px;margin:8px 0 8px auto;width:fit-content} .answer p{white-space:pre-wrap;color:#333}</style></head><body><div id="chat"></div></body></html>');
  await chat.addScriptTag({ content: host });
  await chat.evaluate(([h, a, r]) => window.showAnswer(h, 'How busy was the fleet this week, and why?', a, r), [html, args, result]);
  await chat.frameLocator('iframe').locator('body[data-rendered="usage_summary"]').waitFor();
  await chat.waitForTimeout(300);
  await chat.screenshot({ path: join(out, 'mcp-app-usage.png') });
  console.log(`wrote ${join(out, 'dashboard-overview.png')} and ${join(out, 'mcp-app-usage.png')}`);
} finally {
  await client.close().catch(() => undefined);
  await browser.close();
  demo.kill('SIGINT');
  await new Promise((r) => demo.on('exit', r));
  rmSync(work, { recursive: true, force: true });
}
