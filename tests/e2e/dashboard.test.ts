import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { seedRows } from '../helpers/analytics-seed.js';
import { launchChromium, openDashboard } from '../helpers/dashboard-browser.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const OUTPUT_DIR = join(import.meta.dirname, '../../test-output');
const PROMPT_MARKER = 'PELICAN-PROMPT-5521';
const ANSWER_MARKER = 'HERON-ANSWER-8830';

describe('analytics dashboard in a browser', () => {
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let browser: Browser;
  let contentKey: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setFallback((req, res) =>
      json(200, completionFor(req.body, `Sure: ${ANSWER_MARKER}`))(req, res),
    );
    gateway = await startTestGateway({
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_MAX_RETRIES: '0',
    });
    const deps = gateway.server.deps;
    const tenant = await insertTenant(deps.database.db, 'acme');
    const chat = await gateway.createKey({ tenant: 'acme', scopes: ['chat'] });
    contentKey = (await gateway.createKey({ tenant: 'acme', scopes: ['analytics:content'] })).key;
    // A week of history, then real requests through the gateway (recorded, encrypted).
    const now = Date.now();
    await seedRows(
      deps.database.db,
      Array.from({ length: 60 }, (_, i) => ({
        tenantId: tenant.id,
        createdAt: new Date(now - (i + 1) * 3 * 60 * 60 * 1000),
        model: i % 3 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
        status: i % 9 === 0 ? 500 : 200,
        cacheStatus: i % 4 === 0 ? 'hit' : 'miss',
        latencyMs: 80 + (i % 10) * 40,
        promptTokens: 100 + i,
        // Every other row had 50 prompt tokens from the provider's prompt cache.
        cachedTokens: i % 2 === 0 ? 50 : null,
      })),
    );
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gateway.baseURL}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${chat.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: `Question ${i}: ${PROMPT_MARKER}` }],
        }),
      });
      expect(res.status, await res.text()).toBe(200);
    }
    await settleLog(deps);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await upstream?.close();
  });

  it('asks for a key, draws the charts, fills the log and opens a row with its decrypted text', async () => {
    const { page, failures } = await openDashboard(browser, gateway.baseURL, contentKey, true);

    expect(await page.locator('.chart canvas').count()).toBeGreaterThanOrEqual(5);
    const requestsTile = await page.locator('.tile[data-tile="Requests"]').textContent();
    expect(requestsTile).toContain('63');
    // 10 gpt-4o rows × 50 cached tokens × ($2.50 − $1.25) + 20 gpt-4o-mini rows × 50 × ($0.15 − $0.075).
    const provider = page.locator('#savings tr[data-kind="Provider prompt cache"] td');
    expect(await provider.allTextContents()).toEqual([
      'Provider prompt cache',
      '–',
      '1,500',
      '$0.0007',
    ]);
    const exact = await page
      .locator('#savings tr[data-kind="Exact cache hits"] td')
      .allTextContents();
    expect(exact.slice(0, 2)).toEqual(['Exact cache hits', '15']);
    const rows = page.locator('#log tbody tr');
    expect(await rows.count()).toBe(50);
    expect(await page.locator('#older').isEnabled()).toBe(true);
    expect(await page.evaluate('sessionStorage.getItem("tollgate.analyticsKey")')).toBe(contentKey);

    await rows.first().click();
    await page.waitForSelector(`#detail-body :text("${ANSWER_MARKER}")`);
    const detail = await page.locator('#detail-body').textContent();
    expect(detail).toContain(PROMPT_MARKER);
    expect(detail).toContain(ANSWER_MARKER);

    mkdirSync(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: join(OUTPUT_DIR, 'dashboard.png'), fullPage: true });
    expect(failures).toEqual([]);
  });

  it('asks again for a key when the one given is refused', async () => {
    const page = await browser.newPage();
    await page.goto(`${gateway.baseURL}/dashboard`);
    await page.locator('#key').fill('tg_notavalidkey_000000000000000000000000000000');
    await page.locator('#login-form button').click();
    await page.waitForSelector('#login-error:not(:empty)');
    expect(await page.locator('#login').isVisible()).toBe(true);
  });
});
