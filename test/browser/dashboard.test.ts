import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, connect, fixtureStore } from '../mcp/harness.js';
import { AlertEngine } from '../../src/alerts/engine.js';
import { startHttp, TOKENS } from '../http/harness.js';
import { FIXTURE_NOW, smallFleet } from '../fixtures/small-fleet.js';
import { launchChromium, pageErrors, rendered, screenshot } from './chromium.js';

let browser: Browser;
const contexts: BrowserContext[] = [];
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  while (contexts.length) await contexts.pop()!.close();
});

async function newPage(): Promise<{ page: Page; errors: string[]; context: BrowserContext }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  return { page, errors: pageErrors(page), context };
}

async function signIn(page: Page, url: string, token: string, path = '/overview'): Promise<void> {
  await page.goto(`${url}${path}`);
  await rendered(page, 'sign-in');
  await page.fill('[data-testid=token]', token);
  await page.click('form.sign-in button[type=submit]');
}

/** Executions of the fixture that started in [from, to): the oracle the overview's totals are checked against. */
function fixtureCount(fromMs: number, toMs: number): { executions: number; users: number } {
  const inWindow = smallFleet().filter((r) => {
    const at = Date.parse(r.started_at as string);
    return at >= fromMs && at < toMs;
  });
  return { executions: inWindow.length, users: new Set(inWindow.map((r) => (r.user as { id: string }).id)).size };
}

describe('dashboard in Chromium', () => {
  it('sign-in: a bad token is refused, a good one gives an HttpOnly cookie no script can read, and the page asked for', async () => {
    const store = await fixtureStore();
    const { url } = await startHttp(store);
    const { page, errors, context } = await newPage();
    await page.goto(`${url}/cost?window=30d`);
    await rendered(page, 'sign-in');
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await screenshot(page, 'dashboard', 'sign-in');
    await page.fill('[data-testid=token]', 'not-a-real-token');
    await page.click('form.sign-in button[type=submit]');
    await expect.poll(() => page.textContent('[data-testid=sign-in-error]')).toMatch(/not valid/);
    expect(await context.cookies()).toEqual([]);
    await page.fill('[data-testid=token]', TOKENS.ana);
    await page.click('form.sign-in button[type=submit]');
    await rendered(page, 'cost');
    expect(page.url()).toBe(`${url}/cost?window=30d`);
    expect(await page.textContent('[data-testid=who]')).toContain('u_ana (member)');
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'mcp_blackbox_session', httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(errors).toEqual([]);
  });

  it('the overview for 24h, 7d and 30d shows the totals of a known fleet', async () => {
    const store = await fixtureStore();
    const { url } = await startHttp(store);
    const { page, errors } = await newPage();
    await signIn(page, url, TOKENS.root);
    await rendered(page, 'overview');
    const now = Date.parse(FIXTURE_NOW);
    const DAY = 86_400_000;
    for (const [window, days] of [['24h', 1], ['7d', 7], ['30d', 30]] as const) {
      await page.click(`[data-testid=window] a:text-is("${window}")`);
      await page.waitForURL(`${url}/overview?window=${window}`);
      await rendered(page, 'overview');
      const expected = fixtureCount(now - days * DAY, now);
      const previous = fixtureCount(now - 2 * days * DAY, now - days * DAY);
      const oldest = Math.min(...smallFleet().map((r) => Date.parse(r.started_at as string)));
      expect(await page.textContent('[data-testid=kpi-executions] .kpi-value')).toBe(expected.executions.toLocaleString('en-US'));
      expect(await page.textContent('[data-testid=kpi-users] .kpi-value')).toBe(String(expected.users));
      const change = await page.textContent('[data-testid=kpi-executions] .kpi-detail');
      // A previous window that starts before the first record is not comparable: flagged, no percentage.
      if (now - 2 * days * DAY < oldest) expect(change).toMatch(/^no comparison: /);
      else expect(change).toContain(`${expected.executions - previous.executions > 0 ? '+' : ''}${expected.executions - previous.executions} (`);
      await screenshot(page, 'dashboard', `overview-${window}`);
    }
    expect(errors).toEqual([]);
  });

  it('from the spike bar through its tool and user to one trace; back and forward retrace the way', async () => {
    const store = await fixtureStore();
    const { url } = await startHttp(store);
    const { page, errors } = await newPage();
    await signIn(page, url, TOKENS.root, '/overview?window=7d');
    await rendered(page, 'overview');
    // Daily buckets 10-25 .. 10-31: the spike (20 bot runs on 10-28) is the fourth bar.
    const chart = page.locator('[data-testid=status-chart] .u-over');
    const box = (await chart.boundingBox())!;
    const buckets = Number(await page.getAttribute('[data-testid=status-chart]', 'data-buckets'));
    expect(buckets).toBe(7);
    await page.mouse.move(box.x + box.width * (3.6 / buckets), box.y + box.height - 4);
    await page.mouse.click(box.x + box.width * (3.6 / buckets), box.y + box.height - 4);
    await page.waitForURL(/\/drill\?/);
    await rendered(page, 'drill');
    const drilled = new URL(page.url()).searchParams;
    expect([drilled.get('from'), drilled.get('to')]).toEqual(['2026-10-28T00:00:00.000Z', '2026-10-29T00:00:00.000Z']);
    await screenshot(page, 'dashboard', 'drill-tools');
    // That day: 20 bot calls and 2 of u_ana on jira_create_issue, u_ben's slack_post.
    const tools = page.locator('[data-testid=tools] tbody tr');
    expect(await tools.locator('td:first-child').allTextContents()).toEqual(['jira_create_issue', 'slack_post']);
    expect(await tools.first().locator('td').nth(1).textContent()).toBe('22');
    await tools.first().click();
    await rendered(page, 'drill');
    expect(new URL(page.url()).searchParams.get('tool')).toBe('jira_create_issue');
    const users = page.locator('[data-testid=users] tbody tr');
    expect(await users.locator('td:first-child').allTextContents()).toEqual(['u_bot', 'u_ana']);
    await screenshot(page, 'dashboard', 'drill-users');
    await users.first().click();
    await rendered(page, 'drill');
    const executions = page.locator('[data-testid=executions] tbody tr');
    expect(await executions.count()).toBe(20);
    await screenshot(page, 'dashboard', 'drill-executions');
    // The first failed one (bot_0 .. bot_4 were rate limited).
    await page.locator('[data-testid=executions] tbody tr', { hasText: 'failed' }).last().click();
    await rendered(page, 'trace');
    expect(page.url()).toBe(`${url}/trace/bot_0`);
    expect(await page.textContent('[data-testid=trace-status]')).toContain('failed');
    expect(await page.textContent('[data-testid=trace-status]')).toContain('rate_limited');
    await screenshot(page, 'dashboard', 'trace');
    await page.goBack();
    await rendered(page, 'drill');
    expect(new URL(page.url()).searchParams.get('user')).toBe('u_bot');
    await page.goBack();
    await rendered(page, 'drill');
    expect(new URL(page.url()).searchParams.get('user')).toBeNull();
    expect(await page.locator('[data-testid=users] tbody tr').count()).toBe(2);
    await page.goForward();
    await rendered(page, 'drill');
    expect(await page.locator('[data-testid=executions] tbody tr').count()).toBe(20);
    // A status in the legend narrows to it: the failures of that window, by tool.
    await page.goto(`${url}/overview?window=7d`);
    await rendered(page, 'overview');
    await page.click('[data-testid=status-chart] .u-legend .u-series:has-text("failed") th');
    await page.waitForURL(/\/drill\?.*status=failed/);
    await rendered(page, 'drill');
    expect(await page.locator('[data-testid=tools] tbody tr td:first-child').allTextContents()).toEqual(['jira_create_issue', 'sync_opportunities']);
    expect(await page.locator('[data-testid=tools] tbody tr td:nth-child(2)').allTextContents()).toEqual(['5', '1']);
    expect(errors).toEqual([]);
  });

  it("a member sees others' payloads masked, has no audit page and no unmask", async () => {
    const store = await fixtureStore();
    const { url } = await startHttp(store);
    const { page } = await newPage();
    await signIn(page, url, TOKENS.ben, '/trace/wf_fail');
    await rendered(page, 'trace');
    const body = await page.textContent('main');
    expect(body).toContain('Payloads (masked)');
    expect(body).not.toContain('ACME');
    expect(body).not.toContain('ana@example.com');
    // The failing step is marked, with whose credentials it ran.
    expect(await page.locator('[data-testid=steps] tr.failing td').nth(1).textContent()).toBe('Update opportunities');
    expect(await page.locator('[data-testid=steps] tr.failing').textContent()).toContain('user: u_ana');
    expect(await page.locator('[data-testid=unmask]').count()).toBe(0);
    await screenshot(page, 'dashboard', 'trace-member');
    expect(await page.locator('header nav a', { hasText: 'Audit' }).count()).toBe(0);
    await page.goto(`${url}/audit`);
    await rendered(page, 'audit');
    expect(await page.textContent('[data-testid=page-error]')).toMatch(/Only admins/);
    expect(await page.locator('[data-testid=audit-events]').count()).toBe(0);
  });

  it('an admin unmask from the trace view asks for a reason and records the audit event before showing the data', async () => {
    const store = await fixtureStore();
    const { url } = await startHttp(store);
    const { page, errors } = await newPage();
    await signIn(page, url, TOKENS.root, '/trace/wf_fail');
    await rendered(page, 'trace');
    expect(await page.textContent('main')).not.toContain('ACME');
    // Too short a reason is refused by the tool itself (the form's own minlength taken off, as a
    // hand-made request would), and nothing is shown.
    await page.locator('[data-testid=unmask-reason]').evaluate((el) => el.removeAttribute('minlength'));
    await page.fill('[data-testid=unmask-reason]', 'short');
    await page.click('[data-testid=unmask]');
    await expect.poll(() => page.textContent('[data-testid=unmasked]')).toMatch(/at least 10 characters/);
    await page.fill('[data-testid=unmask-reason]', 'INC-77: which account did the sync touch');
    await page.click('[data-testid=unmask]');
    await expect.poll(() => page.textContent('[data-testid=unmasked]')).toContain('ACME');
    const shown = await page.textContent('[data-testid=unmasked]');
    const seq = Number(/audit event #(\d+)/.exec(shown!)![1]);
    await screenshot(page, 'dashboard', 'trace-unmasked');
    await page.goto(`${url}/audit`);
    await rendered(page, 'audit');
    const first = page.locator('[data-testid=audit-events] tbody tr').first();
    expect(await first.locator('td').allTextContents()).toEqual([String(seq), expect.any(String), 'u_root (admin)', 'unmask', 'wf_fail', 'INC-77: which account did the sync touch']);
    expect(await page.textContent('[data-testid=chain]')).toContain('intact');
    await screenshot(page, 'dashboard', 'audit');
    expect(errors.filter((e) => !/400/.test(e))).toEqual([]);
  });

  it('alerts: the rules and what fires; an admin silences a firing alert with a reason, and the audit log has it', async () => {
    const store = await fixtureStore();
    // The fleet's last call was on 10-31 at 10:03: by "now" (11-01 00:00) every client has been silent for hours.
    const admin = await connect(store, { id: 'u_root', role: 'admin' });
    expect((await call(admin, 'create_alert_rule', { rule: { name: 'quiet-feed', kind: 'feed_silence', silent_for: '30m' } })).isError).toBeFalsy();
    await new AlertEngine(store, { clock: store.clock }).evaluate();
    const { url } = await startHttp(store);
    const { page, errors } = await newPage();
    await signIn(page, url, TOKENS.root, '/alerts');
    await rendered(page, 'alerts');
    expect(await page.locator('[data-testid=rules] tbody tr td:first-child').allTextContents()).toEqual(['quiet-feed']);
    const firing = page.locator('[data-testid=alerts] tbody tr', { hasText: 'firing' });
    expect(await firing.count()).toBeGreaterThan(0);
    await firing.first().locator('[data-testid=silence-reason]').fill('CHG-42: the feed is paused for maintenance');
    await firing.first().locator('[data-testid=silence]').click();
    await expect.poll(() => page.textContent('[data-testid=silence-outcome]')).toMatch(/^Silenced quiet-feed .*until .*recorded in the audit log/);
    await screenshot(page, 'dashboard', 'alerts-silenced');
    await page.goto(`${url}/audit`);
    await rendered(page, 'audit');
    const first = page.locator('[data-testid=audit-events] tbody tr').first();
    expect(await first.locator('td').nth(3).textContent()).toBe('alert_silence');
    expect(await first.locator('td').nth(5).textContent()).toBe('CHG-42: the feed is paused for maintenance');
    expect(errors).toEqual([]);
  });

  it('every page renders without a script error under the CSP, with a screenshot each', async () => {
    const store = await fixtureStore();
    const { url } = await startHttp(store);
    const { page, errors } = await newPage();
    await signIn(page, url, TOKENS.root, '/spike?window=7d');
    await rendered(page, 'spike');
    expect(await page.textContent('[data-testid="contributors-user"] tbody tr:first-child')).toContain('u_bot');
    await screenshot(page, 'dashboard', 'spike');
    await page.goto(`${url}/cost?window=30d`);
    await rendered(page, 'cost');
    await screenshot(page, 'dashboard', 'cost-by-user');
    await page.click('.tabs button:text-is("By team")');
    await page.waitForURL(`${url}/cost?window=30d&group_by=team`);
    await rendered(page, 'cost');
    expect(await page.locator('[data-testid=cost-rows] tbody tr td:first-child').allTextContents()).toEqual(['revops', 'eng', 'platform']);
    expect(await page.getAttribute('[data-testid=csv]', 'href')).toBe('/api/cost.csv?window=30d&group_by=team');
    const download = page.waitForEvent('download');
    await page.click('[data-testid=csv]');
    expect((await download).suggestedFilename()).toBe('mcp-blackbox-cost-by-team-2026-10-02-2026-11-01.csv');
    // The 30 days before reach back before the first record: no change is claimed.
    expect(await page.textContent('[data-testid=kpi-tasks] .kpi-detail')).toMatch(/^no comparison/);
    await screenshot(page, 'dashboard', 'cost-by-team');
    // A team's bar opens what it ran.
    await page.click('[data-testid=rank-chart] .rank-row:has-text("platform")');
    await page.waitForURL(`${url}/drill?window=30d&team=platform`);
    await rendered(page, 'drill');
    expect(await page.locator('[data-testid=tools] tbody tr td:first-child').allTextContents()).toEqual(['jira_create_issue']);
    await page.goto(`${url}/alerts`);
    await rendered(page, 'alerts');
    await screenshot(page, 'dashboard', 'alerts');
    await page.goto(`${url}/failures?window=7d`);
    await rendered(page, 'failures');
    await screenshot(page, 'dashboard', 'failures');
    expect(await page.locator('[data-testid=failure-groups] tbody tr td:first-child').allTextContents()).toEqual(['rate_limited', 'http_500']);
    // The failures over time: the spike day's bar narrows the page to that day (rate_limited only).
    const box = (await page.locator('[data-testid=status-chart] .u-over').boundingBox())!;
    await page.mouse.click(box.x + box.width * (3.5 / 7), box.y + box.height - 3);
    await page.waitForURL(/\/failures\?from=2026-10-28/);
    await rendered(page, 'failures');
    expect(await page.locator('[data-testid=failure-groups] tbody tr td:first-child').allTextContents()).toEqual(['rate_limited']);
    await page.goto(`${url}/unused?window=30d`);
    await rendered(page, 'unused');
    expect(await page.locator('[data-testid=unused] tbody tr td:first-child').allTextContents()).toEqual(expect.arrayContaining(['legacy_tool', 'never_tool']));
    await screenshot(page, 'dashboard', 'unused');
    expect(errors).toEqual([]);
  });
});
