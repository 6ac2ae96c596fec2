import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { seedRows } from '../helpers/analytics-seed.js';
import { launchChromium, openDashboard } from '../helpers/dashboard-browser.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const OUTPUT_DIR = join(import.meta.dirname, '../../test-output');
const UNPRICED_MODEL = 'house-model-without-a-price';
const MINUTE = 60_000;

/** Seeded rows: one tenant per time shape, so the tenant picker switches between them. */
const SHAPES = {
  hour: { tenant: 'hour-co', start: Date.parse('2026-03-10T14:02:00Z'), count: 30, gap: 100_000 },
  day: { tenant: 'day-co', start: Date.parse('2026-03-11T00:15:00Z'), count: 48, gap: 30 * MINUTE },
  fortnight: {
    tenant: 'fortnight-co',
    start: Date.parse('2026-02-01T03:00:00Z'),
    count: 84,
    gap: 4 * 60 * MINUTE,
  },
};

describe('dashboard views in a browser', () => {
  let gateway: TestGateway;
  let browser: Browser;
  let adminKey: string;
  let dayReaderKey: string;
  const keyIds: string[] = [];
  const tenantIds = new Map<string, string>();

  beforeAll(async () => {
    gateway = await startTestGateway();
    const db = gateway.server.deps.database.db;
    for (const shape of Object.values(SHAPES)) {
      tenantIds.set(shape.tenant, (await insertTenant(db, shape.tenant)).id);
    }
    adminKey = (await gateway.createKey({ name: 'ops-admin', scopes: ['admin'] })).key;
    dayReaderKey = (
      await gateway.createKey({ name: 'day-reader', tenant: 'day-co', scopes: ['analytics:read'] })
    ).key;
    for (const name of ['billing-service', 'support-bot']) {
      keyIds.push((await gateway.createKey({ name, tenant: 'day-co', scopes: ['chat'] })).id);
    }
    for (const shape of Object.values(SHAPES)) {
      const tenantId = tenantIds.get(shape.tenant) ?? '';
      await seedRows(
        db,
        Array.from({ length: shape.count }, (_, i) => ({
          tenantId,
          createdAt: new Date(shape.start + i * shape.gap),
          keyId: keyIds[i % 2] ?? 'key_seed',
          endUser: [null, 'alice', 'bob'][i % 3] ?? null,
          model: i % 5 === 0 ? UNPRICED_MODEL : i % 2 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
          // Refused before any upstream (no provider), a fallback upstream, the primary one.
          provider: i % 3 === 2 ? null : i % 4 === 1 ? 'backup' : 'primary',
          status: i % 7 === 0 ? 502 : 200,
          cacheStatus: i % 4 === 0 ? 'hit' : 'miss',
          latencyMs: 90 + (i % 9) * 35,
          // An upstream that failed billed nothing: no usage, so no money left out either.
          promptTokens: i % 7 === 0 ? null : 200 + i,
          completionTokens: i % 7 === 0 ? null : 40 + (i % 11),
          // Streams cut before the provider's usage: the gateway's own count.
          usageEstimated: i % 7 !== 0 && i % 6 === 1,
        })),
      );
    }
    browser = await launchChromium();
    mkdirSync(OUTPUT_DIR, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
  });

  /** A page logged in with `key`, its errors collected. */
  async function open(key: string): Promise<{ page: Page; failures: string[] }> {
    return openDashboard(browser, gateway.baseURL, key);
  }

  async function pickTenant(page: Page, name: string): Promise<void> {
    await page.locator('#tenant').selectOption({ label: name });
    await page.waitForSelector('body[data-ready="true"]');
  }

  const tile = (page: Page, name: string) =>
    page.locator(`.tile[data-tile="${name}"]`).textContent();
  const xRange = async (page: Page) => ({
    from: await page.locator('#chart-requests').getAttribute('data-x-from'),
    to: await page.locator('#chart-requests').getAttribute('data-x-to'),
  });

  it('draws one hour, one day and fourteen days on axes that fit each, per tenant', async () => {
    const { page, failures } = await open(adminKey);
    expect(await page.locator('#tenant-label').isVisible()).toBe(true);
    const options = await page.locator('#tenant option').allTextContents();
    expect(options).toEqual(expect.arrayContaining(['all tenants', 'hour-co', 'day-co']));

    await pickTenant(page, 'hour-co');
    expect(await xRange(page)).toEqual({
      from: '2026-03-10T14:00:00.000Z',
      to: '2026-03-10T15:00:00.000Z',
    });
    expect(await page.locator('#axis-note').textContent()).toContain('Per hour');
    expect(await tile(page, 'Requests')).toContain('30');
    expect(await tile(page, 'Estimated cost')).toContain('excludes 5 unpriced requests');
    // Rows 1, 13, 19 and 25 were estimated: (201 + 41) + (213 + 42) + (219 + 48) + (225 + 43).
    expect(await tile(page, 'Tokens')).toContain(
      "includes ~1,032 estimated by the gateway (4 requests without the provider's usage)",
    );
    await page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-one-hour.png'), fullPage: true });
    await page
      .locator('form.filters')
      .screenshot({ path: join(OUTPUT_DIR, 'dashboard-tenant-picker.png') });

    await pickTenant(page, 'day-co');
    expect(await xRange(page)).toEqual({
      from: '2026-03-11T00:00:00.000Z',
      to: '2026-03-12T00:00:00.000Z',
    });
    expect(await tile(page, 'Requests')).toContain('48');
    await page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-one-day.png'), fullPage: true });

    await pickTenant(page, 'fortnight-co');
    expect(await xRange(page)).toEqual({
      from: '2026-02-01T00:00:00.000Z',
      to: '2026-02-15T00:00:00.000Z',
    });
    expect(await page.locator('#axis-note').textContent()).toContain('Per day');
    expect(await tile(page, 'Requests')).toContain('84');
    await page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-14-days.png'), fullPage: true });
    expect(failures).toEqual([]);
  });

  it('breaks the numbers down by model, key name and end user; a row narrows the page', async () => {
    const { page, failures } = await open(adminKey);
    await pickTenant(page, 'day-co');
    const models = await page.locator('#by-model tbody td:first-child').allTextContents();
    expect(models.sort()).toEqual(['gpt-4o', 'gpt-4o-mini', UNPRICED_MODEL].sort());
    const keys = await page.locator('#by-key tbody td:first-child').allTextContents();
    expect(keys.sort()).toEqual(['billing-service', 'support-bot']);
    const users = await page.locator('#by-end-user tbody td:first-child').allTextContents();
    expect(users.sort()).toEqual(['(none)', 'alice', 'bob']);
    const unpricedRow = page.locator('#by-model tbody tr', { hasText: UNPRICED_MODEL });
    expect(await unpricedRow.locator('td').nth(5).textContent()).toBe('–');
    await page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-breakdowns.png'), fullPage: true });

    await page.locator('#by-end-user tbody tr', { hasText: 'alice' }).click();
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('input[name="end_user"]').inputValue()).toBe('alice');
    expect(await tile(page, 'Requests')).toContain('16');
    const logUsers = new Set(await page.locator('#log tbody td:nth-child(8)').allTextContents());
    expect([...logUsers]).toEqual(['alice']);
    expect(failures).toEqual([]);
  });

  it('breaks the numbers down by provider, requests no upstream was asked for as (none); a row narrows the page', async () => {
    const { page, failures } = await open(adminKey);
    await pickTenant(page, 'day-co');
    const rows = page.locator('#by-provider tbody tr');
    const cells = async (row: number) =>
      (await rows.nth(row).locator('td').allTextContents()).slice(0, 2);
    // Busiest first: 24 rows of primary, 16 of no provider, 8 of backup.
    expect([await cells(0), await cells(1), await cells(2)]).toEqual([
      ['primary', '24'],
      ['(none)', '16'],
      ['backup', '8'],
    ]);
    await page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-providers.png'), fullPage: true });

    await page.locator('#by-provider tbody tr', { hasText: 'backup' }).click();
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('input[name="provider"]').inputValue()).toBe('backup');
    expect(await page.locator('.tile[data-tile="Requests"] .v').textContent()).toBe('8');
    expect(await page.locator('#by-provider tbody td:first-child').allTextContents()).toEqual([
      'backup',
    ]);
    expect(failures).toEqual([]);
  });

  it('shows a tenant key its own tenant with key ids and no tenant picker', async () => {
    const { page, failures } = await open(dayReaderKey);
    expect(await page.locator('#tenant-label').isVisible()).toBe(false);
    expect(await tile(page, 'Requests')).toContain('48');
    const keys = await page.locator('#by-key tbody td:first-child').allTextContents();
    expect(keys.sort()).toEqual([...keyIds].sort());
    expect(failures).toEqual([]);
  });

  it('exports the filtered log as CSV and NDJSON with the key in a header, never in the URL', async () => {
    const { page, failures } = await open(adminKey);
    await pickTenant(page, 'hour-co');
    const exports: { url: string; authorization: string | undefined }[] = [];
    page.on('request', (req) => {
      if (req.url().includes('/analytics/export')) {
        exports.push({ url: req.url(), authorization: req.headers().authorization });
      }
    });
    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('#export-csv').click(),
    ]);
    expect(csv.suggestedFilename()).toMatch(/^interactions-.*\.csv$/);
    const csvLines = readFileSync(await csv.path(), 'utf8')
      .trim()
      .split('\n');
    expect(csvLines).toHaveLength(31);
    await page.waitForSelector('#export-status:has-text("Exported")');
    await page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-export.png') });

    const [ndjson] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('#export-ndjson').click(),
    ]);
    const rows = readFileSync(await ndjson.path(), 'utf8')
      .trim()
      .split('\n');
    expect(rows).toHaveLength(30);
    expect(JSON.parse(rows[0] ?? '{}').tenant_id).toBe(tenantIds.get('hour-co'));

    expect(exports).toHaveLength(2);
    for (const e of exports) {
      expect(e.authorization).toBe(`Bearer ${adminKey}`);
      expect(e.url).not.toContain(adminKey);
      expect(e.url).toContain(`tenant_id=${tenantIds.get('hour-co')}`);
    }
    expect(failures).toEqual([]);
  });
});
