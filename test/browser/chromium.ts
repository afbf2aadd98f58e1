import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium (installed by the vitest global setup), driven by playwright-core: nothing is downloaded. */
export function launchChromium(): Promise<Browser> {
  // Root in a container has no user namespaces for Chromium's sandbox.
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** Screenshots are test artifacts, not committed (.gitignore). */
export const ARTIFACTS = join(new URL('../..', import.meta.url).pathname, 'test-artifacts');

export async function screenshot(page: Page, folder: string, name: string): Promise<void> {
  mkdirSync(join(ARTIFACTS, folder), { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, folder, `${name}.png`), fullPage: true });
}

/** Resolves once the dashboard has painted a page with its data (main.ts sets body[data-rendered]). */
export async function rendered(page: Page, name: string): Promise<void> {
  await page.waitForSelector(`body[data-rendered="${name}"]`, { timeout: 20_000 });
}

/**
 * Collects what the page logged as errors: a test fails on any (a CSP violation shows here too).
 * The browser's own line for a 401 is left out: asking who is signed in answers 401 before sign-in.
 */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) errors.push(m.text());
  });
  return errors;
}
