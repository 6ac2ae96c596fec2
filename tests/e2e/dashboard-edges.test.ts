import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { launchChromium, openDashboard } from '../helpers/dashboard-browser.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { ok, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

/** Tenant-controlled text that would run script if the page used it as markup. */
const INJECTED = '<img src=x onerror="window.__injected=1">';
const SESSION = 'sess-<b>bold</b>';

describe('analytics dashboard with an empty database, a revoked key and hostile strings', () => {
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setFallback(ok);
    gateway = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' });
    const db = gateway.server.deps.database.db;
    await insertTenant(db, 'empty');
    await insertTenant(db, 'acme');
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await upstream?.close();
  });

  async function open(key: string): Promise<{ page: Page; failures: string[] }> {
    return openDashboard(browser, gateway.baseURL, key);
  }

  it('shows zeros and says no request matches when the tenant has none; a revoked key is asked again', async () => {
    const reader = await gateway.createKey({ tenant: 'empty', scopes: ['analytics:read'] });
    const { page, failures } = await open(reader.key);
    expect(await page.locator('.tile[data-tile="Requests"]').textContent()).toContain('0');
    expect(await page.locator('#axis-note').textContent()).toBe('No requests match these filters.');
    expect(await page.locator('#log tbody tr').count()).toBe(0);
    expect(await page.locator('#app-error').textContent()).toBe('');

    const admin = await gateway.createKey({ tenant: 'empty', scopes: ['admin'] });
    const revoked = await fetch(`${gateway.baseURL}/admin/keys/${reader.id}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.key}` },
    });
    expect(revoked.status, await revoked.text()).toBe(200);
    await page.locator('#filters button[type="submit"]').click();
    await page.waitForSelector('#login-error:not(:empty)');
    expect(await page.locator('#login').isVisible()).toBe(true);
    expect(await page.evaluate('sessionStorage.getItem("tollgate.analyticsKey")')).toBeNull();
    expect(failures).toEqual([]);
  });

  it('shows end users, sessions and text as text, never as markup', async () => {
    const chat = await gateway.createKey({ tenant: 'acme', scopes: ['chat'] });
    const res = await fetch(`${gateway.baseURL}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${chat.key}`,
        'content-type': 'application/json',
        'x-tollgate-session-id': 'hostile-session',
      },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        user: INJECTED,
        metadata: { note: INJECTED },
        messages: [{ role: 'user', content: `${INJECTED} ${SESSION}` }],
      }),
    });
    expect(res.status, await res.text()).toBe(200);
    await settleLog(gateway.server.deps);
    const reader = await gateway.createKey({ tenant: 'acme', scopes: ['analytics:content'] });
    const { page, failures } = await open(reader.key);
    expect(await page.locator('#by-end-user tbody').textContent()).toContain(INJECTED);
    await page.locator('#log tbody tr').first().click();
    await page.waitForSelector('#detail-body :text("hostile-session")');
    expect(await page.locator('#detail-body').textContent()).toContain(INJECTED);
    await page.locator('#view-sessions').click();
    await page.waitForSelector('#session-list tbody tr');
    await page.locator('#session-list tbody tr').first().click();
    await page.waitForSelector('#thread:not([hidden])');
    await page.waitForSelector(`#thread :text("${SESSION}")`);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.locator('b:text-is("bold")').count()).toBe(0);
    expect(await page.evaluate('window.__injected')).toBeUndefined();
    expect(failures).toEqual([]);
  });
});
