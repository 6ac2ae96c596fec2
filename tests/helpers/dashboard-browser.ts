import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';

/** Debian's Chromium, headless, as the browser tests run it (nothing is downloaded). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/**
 * A new page on the gateway's dashboard, logged in with `key` and drawn: its page errors (and,
 * with `consoleErrors`, the console's errors) collected in `failures`.
 */
export async function openDashboard(
  browser: Browser,
  baseURL: string,
  key: string,
  consoleErrors = false,
): Promise<{ page: Page; failures: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const failures: string[] = [];
  page.on('pageerror', (err) => failures.push(err.message));
  if (consoleErrors) {
    page.on('console', (msg) => {
      if (msg.type() === 'error') failures.push(msg.text());
    });
  }
  await page.goto(`${baseURL}/dashboard`);
  await page.locator('#key').fill(key);
  await page.locator('#login-form button').click();
  await page.waitForSelector('body[data-ready="true"]');
  return { page, failures };
}
