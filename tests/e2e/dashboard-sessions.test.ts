import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { launchChromium, openDashboard } from '../helpers/dashboard-browser.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { manualClock } from '../helpers/manual-clock.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const OUTPUT_DIR = join(import.meta.dirname, '../../test-output');
const SESSION = 'support-chat:1042';
const QUESTIONS = [
  'My parcel ORCA-7731 has not arrived.',
  'It left the depot on Monday.',
  'Can I get a refund instead?',
];

describe('sessions view in a browser', () => {
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let browser: Browser;
  let contentKey: string;
  let metadataKey: string;
  let chatKeyId: string;
  const clock = manualClock(Date.UTC(2031, 5, 2, 8, 30));

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setFallback((req, res) => {
      const messages = Array.isArray(req.body.messages) ? req.body.messages : [];
      const turn = messages.filter((m) => (m as { role?: string }).role === 'user').length;
      return json(200, completionFor(req.body, `Reply ${turn} from the parcel desk`))(req, res);
    });
    gateway = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' }, { clock });
    const deps = gateway.server.deps;
    await insertTenant(deps.database.db, 'acme');
    const chat = await gateway.createKey({ name: 'parcel-bot', tenant: 'acme', scopes: ['chat'] });
    chatKeyId = chat.id;
    contentKey = (await gateway.createKey({ tenant: 'acme', scopes: ['analytics:content'] })).key;
    metadataKey = (await gateway.createKey({ tenant: 'acme', scopes: ['analytics:read'] })).key;

    // Three turns of one chat through the gateway, joined by the session header.
    const client = new OpenAI({
      apiKey: chat.key,
      baseURL: `${gateway.baseURL}/v1`,
      maxRetries: 0,
      defaultHeaders: { 'x-tollgate-session-id': SESSION },
    });
    const history: ChatCompletionMessageParam[] = [
      { role: 'system', content: 'You answer parcel questions.' },
    ];
    for (const question of QUESTIONS) {
      history.push({ role: 'user', content: question });
      const answer = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: history,
      });
      history.push({ role: 'assistant', content: answer.choices[0]?.message.content ?? '' });
      clock.advance(45_000);
    }
    // A request outside any session is not listed.
    await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-tollgate-session-id': 'other-session' } },
    );
    await settleLog(deps);

    browser = await launchChromium();
    mkdirSync(OUTPUT_DIR, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await upstream?.close();
  });

  /** A page logged in with `key` and switched to the Sessions view. */
  async function openSessions(key: string): Promise<{ page: Page; failures: string[] }> {
    const { page, failures } = await openDashboard(browser, gateway.baseURL, key);
    await page.locator('#view-sessions').click();
    await page.waitForSelector('body[data-ready="true"] #session-list tbody tr');
    return { page, failures };
  }

  it('lists the sessions and shows one as a thread of user and assistant turns', async () => {
    const { page, failures } = await openSessions(contentKey);
    expect(await page.locator('#overview').isVisible()).toBe(false);
    const ids = await page.locator('#session-list tbody td:nth-child(2)').allTextContents();
    expect(ids).toEqual(['other-session', SESSION]);
    const row = page.locator(`#session-list tbody tr[data-session="${SESSION}"]`);
    expect(await row.locator('td').nth(2).textContent()).toBe('3');
    // A tenant key sees key ids; only an admin key gets their names.
    expect(await row.locator('td').nth(7).textContent()).toBe(chatKeyId);

    await row.click();
    await page.waitForSelector(`#thread[data-session="${SESSION}"]`);
    expect(await page.locator('#thread h2').textContent()).toBe(`Session ${SESSION}`);
    expect(await page.locator('#thread .exchange').count()).toBe(3);
    const users = await page.locator('#thread .turn[data-role="user"]').allTextContents();
    expect(users).toEqual(QUESTIONS.map((q) => `user${q}`));
    const replies = await page.locator('#thread .turn[data-role="assistant"]').allTextContents();
    expect(replies).toEqual([1, 2, 3].map((n) => `assistantReply ${n} from the parcel desk`));
    expect(await page.locator('#thread .turn[data-role="system"]').count()).toBe(1);
    await page.screenshot({
      path: join(OUTPUT_DIR, 'dashboard-session-thread.png'),
      fullPage: true,
    });
    expect(failures).toEqual([]);
  });

  it('shows a metadata-only key the thread as metadata, without any text', async () => {
    const { page, failures } = await openSessions(metadataKey);
    await page.locator(`#session-list tbody tr[data-session="${SESSION}"]`).click();
    await page.waitForSelector(`#thread[data-session="${SESSION}"]`);
    expect(await page.locator('#thread .exchange').count()).toBe(3);
    expect(await page.locator('#thread .turn').count()).toBe(0);
    const thread = (await page.locator('#thread').textContent()) ?? '';
    expect(thread).toContain('metadata only');
    expect(thread).not.toContain('ORCA-7731');
    expect(thread).toContain('gpt-4o-mini');
    await page.screenshot({
      path: join(OUTPUT_DIR, 'dashboard-session-metadata.png'),
      fullPage: true,
    });
    expect(failures).toEqual([]);
  });
});
