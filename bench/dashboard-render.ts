#!/usr/bin/env node
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AuditLog } from '../src/access/audit.js';
import { DEFAULT_MEMORY_LIMIT } from '../src/cli/config.js';
import { fixedClock } from '../src/clock.js';
import { HttpAuth } from '../src/http/auth.js';
import { startHttpServer } from '../src/http/server.js';
import { Store } from '../src/store/store.js';
import { BENCH_ANCHOR } from './dataset.js';

/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) on a big store:
 * per page, the time from the data's arrival to the first frame painted with it (what the page
 * itself costs: the target), and from navigation to that frame (the tools' queries included).
 */
export interface DashboardRenderResult {
  executions: number;
  loads: number;
  pages: Array<{ page: string; path: string; render: { median: number; max: number }; total: { median: number; max: number } }>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => Math.round(x * 10) / 10;

export async function benchDashboardRender(dbPath: string, options: { loads: number; anchor?: string }): Promise<DashboardRenderResult> {
  const { chromium } = await import('playwright-core');
  const anchor = new Date(options.anchor ?? BENCH_ANCHOR);
  const store = await Store.open({ path: dbPath, clock: fixedClock(anchor), memoryLimit: DEFAULT_MEMORY_LIMIT });
  const auditDir = mkdtempSync(join(tmpdir(), 'mcp-blackbox-bench-audit-'));
  const server = await startHttpServer(
    { host: '127.0.0.1', port: 0 },
    { store, clock: store.clock, audit: new AuditLog(store, { mirrorPath: join(auditDir, 'audit.jsonl') }), auth: new HttpAuth({}), webhookSecrets: [], log: () => undefined },
  );
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const executions = (await store.read((db) => db.one<{ n: number }>('SELECT count(*)::DOUBLE AS n FROM executions')))?.n ?? 0;
    const failed = await store.read((db) => db.one<{ id: string }>("SELECT execution_id AS id FROM executions WHERE status = 'failed' ORDER BY started_at DESC LIMIT 1"));
    const busiest = await store.read((db) => db.one<{ tool: string }>('SELECT tool_name AS tool FROM executions GROUP BY 1 ORDER BY count(*) DESC LIMIT 1'));
    const paths: Array<[string, string]> = [
      ['overview', '/overview?window=24h'],
      ['overview', '/overview?window=7d'],
      ['overview', '/overview?window=30d'],
      ['drill', `/drill?window=7d&tool=${encodeURIComponent(busiest?.tool ?? '')}`],
      ['spike', '/spike?window=7d'],
      ['cost', '/cost?window=30d'],
      ['failures', '/failures?window=7d'],
      ['unused', '/unused?window=30d'],
      ['alerts', '/alerts'],
      ['audit', '/audit'],
      ['trace', `/trace/${encodeURIComponent(failed?.id ?? 'none')}`],
    ];
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const pages: DashboardRenderResult['pages'] = [];
    for (const [name, path] of paths) {
      const render: number[] = [];
      const total: number[] = [];
      // One warm-up load, then the measured ones.
      for (let i = 0; i <= options.loads; i++) {
        const started = performance.now();
        await page.goto(`${server.url}${path}`);
        await page.waitForSelector(`body[data-rendered="${name}"]`, { timeout: 120_000 });
        const elapsed = performance.now() - started;
        const renderMs = Number(await page.getAttribute('body', 'data-render-ms'));
        if (i > 0) {
          render.push(renderMs);
          total.push(elapsed);
        }
      }
      pages.push({ page: name, path, render: { median: ms(median(render)), max: ms(Math.max(...render)) }, total: { median: ms(median(total)), max: ms(Math.max(...total)) } });
    }
    return { executions, loads: options.loads, pages };
  } finally {
    await browser.close();
    await server.close();
    await store.close();
    rmSync(auditDir, { recursive: true, force: true });
  }
}

export function dashboardRenderMarkdown(results: DashboardRenderResult[], command: string): string[] {
  const out = [
    '## 12. Dashboard in the browser',
    '',
    `Each page loaded in Debian's Chromium (headless, 1280x900) after one warm-up, the server in local mode on loopback (\`${command}\`). Render: from the data's arrival in the page to the first frame painted with it (target ≤ 300 ms at 10M). Total: from navigation to that frame, the tools' queries included.`,
    '',
  ];
  for (const r of results) {
    out.push(`${r.executions.toLocaleString('en-US')} executions, ${r.loads} loads per page:`, '', '| page | path | render median ms | render max ms | total median ms | total max ms |', '| --- | --- | ---: | ---: | ---: | ---: |');
    for (const p of r.pages) out.push(`| ${p.page} | \`${p.path.length > 48 ? `${p.path.slice(0, 45)}...` : p.path}\` | ${p.render.median} | ${p.render.max} | ${p.total.median} | ${p.total.max} |`);
    out.push('');
  }
  return out;
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { db: { type: 'string', multiple: true }, loads: { type: 'string', default: '5' } } });
  const results: DashboardRenderResult[] = [];
  for (const db of values.db ?? []) results.push(await benchDashboardRender(db, { loads: Number(values.loads) }));
  process.stdout.write(`${dashboardRenderMarkdown(results, `node dist-bench/bench/dashboard-render.js ${(values.db ?? []).map((d) => `--db ${d}`).join(' ')} --loads ${values.loads}`).join('\n')}\n`);
}
