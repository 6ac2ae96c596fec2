import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/dashboard-browser.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startTestGateway } from '../helpers/test-gateway.js';

/** What a page's cross-origin call saw: the status, the headers it could read, the body. */
interface Seen {
  status: number;
  requestId: string | null;
  remainingRequests: string | null;
  body: string;
}

/** An app page on its own origin (another port): what a browser app calling the gateway is. */
async function startAppPage(): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

/** A fetch from the page, with the headers the openai SDK sends (a preflighted request). */
function callFromPage(page: Page, url: string, key: string, body: object): Promise<Seen> {
  return page.evaluate(
    async ({ url, key, body }) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'x-stainless-lang': 'js',
        },
        body: JSON.stringify(body),
      });
      return {
        status: res.status,
        requestId: res.headers.get('x-request-id'),
        remainingRequests: res.headers.get('x-ratelimit-remaining-requests'),
        body: await res.text(),
      };
    },
    { url, key, body },
  );
}

function startGateway(upstream: FakeUpstream, corsOrigins?: string) {
  return startTestGateway({
    UPSTREAM_BASE_URL: upstream.url,
    CACHE: 'off',
    ...(corsOrigins === undefined ? {} : { CORS_ORIGINS: corsOrigins }),
  });
}

describe('a browser app on another origin', () => {
  let upstream: FakeUpstream;
  let app: { server: Server; url: string };
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setFallback((req, res) =>
      req.body.stream === true
        ? sse(['stream', 'ed'])(req, res)
        : json(200, completionFor(req.body, 'Hello from the gateway'))(req, res),
    );
    app = await startAppPage();
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(app.url);
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => app?.server.close(r));
    await upstream?.close();
  });

  it('calls chat completions, JSON and streamed, and reads the rate-limit headers (default: any origin)', async () => {
    const gateway = await startGateway(upstream);
    try {
      const { key } = await gateway.createKey({ rpm: 10 });
      const url = `${gateway.baseURL}/v1/chat/completions`;
      const question = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] };

      const answer = await callFromPage(page, url, key, question);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).choices[0].message.content).toBe('Hello from the gateway');
      expect(answer.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(answer.remainingRequests).toBe('9');

      const streamed = await callFromPage(page, url, key, { ...question, stream: true });
      expect(streamed.status).toBe(200);
      expect(streamed.body).toContain('"content":"stream"');
      expect(streamed.body).toContain('data: [DONE]');
      expect(streamed.remainingRequests).toBe('8');

      // An error reaches the page as OpenAI's error body, not as a network failure.
      const refused = await callFromPage(page, url, 'not-a-key', question);
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.body).error.type).toBe('invalid_request_error');
    } finally {
      await gateway.stop();
    }
  });

  it('is refused by the browser when its origin is not in CORS_ORIGINS, and served when it is', async () => {
    const origin = new URL(app.url).origin;
    const other = await startGateway(upstream, 'https://app.example.com');
    const listed = await startGateway(upstream, `https://app.example.com, ${origin}`);
    try {
      const question = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] };
      const { key: otherKey } = await other.createKey();
      const sent = upstream.requests.length;
      const blocked = callFromPage(
        page,
        `${other.baseURL}/v1/chat/completions`,
        otherKey,
        question,
      );
      await expect(blocked).rejects.toThrow(/Failed to fetch/);
      // The preflight stopped it: the request itself never went upstream.
      expect(upstream.requests.length).toBe(sent);

      const { key } = await listed.createKey();
      const served = await callFromPage(
        page,
        `${listed.baseURL}/v1/chat/completions`,
        key,
        question,
      );
      expect(served.status).toBe(200);
      expect(JSON.parse(served.body).choices[0].message.content).toBe('Hello from the gateway');
    } finally {
      await other.stop();
      await listed.stop();
    }
  });
});
