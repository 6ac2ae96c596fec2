import { SmartRouter } from 'hono/router/smart-router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

const APP_ORIGIN = 'https://app.example.com';
const QUESTION = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Hi' }],
});

/** The preflight a browser sends before the openai SDK's POST from another origin. */
function preflight(app: TestApp, origin: string, path = '/v1/chat/completions') {
  return app.request(path, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type,x-stainless-lang',
    },
  });
}

let upstream: FakeUpstream;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.setFallback((req, res) => json(200, completionFor(req.body))(req, res));
});

afterAll(async () => {
  await upstream?.close();
});

describe('CORS on /v1', () => {
  it('by default answers any origin as OpenAI does: preflight, allowed origin, exposed headers', async () => {
    const app = await createTestApp({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' });
    try {
      const before = upstream.requests.length;
      const pre = await preflight(app, APP_ORIGIN);
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('*');
      expect(pre.headers.get('access-control-allow-methods')).toBe('GET, POST, DELETE, OPTIONS');
      expect(pre.headers.get('access-control-allow-headers')).toBe(
        'authorization,content-type,x-stainless-lang',
      );
      expect(pre.headers.get('access-control-max-age')).toBe('86400');
      expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
      expect(upstream.requests.length).toBe(before);

      const { key } = await app.createKey({ rpm: 5 });
      const res = await app.request('/v1/chat/completions', {
        method: 'POST',
        headers: {
          origin: APP_ORIGIN,
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
        },
        body: QUESTION,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-expose-headers')).toBe('*');
      expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('4');

      // Errors carry it too, or the page could not read them.
      const refused = await app.request('/v1/models', { headers: { origin: APP_ORIGIN } });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('access-control-allow-origin')).toBe('*');

      // A server-side client sends no Origin and gets no CORS headers.
      const plain = await app.request('/v1/models', {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(plain.status).toBe(200);
      expect(plain.headers.get('access-control-allow-origin')).toBeNull();

      // Admin and analytics routes stay same-origin only.
      const admin = await preflight(app, APP_ORIGIN, '/admin/keys');
      expect(admin.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await app.close();
    }
  });

  it('with CORS_ORIGINS listed, answers those origins by name with Vary: Origin and no other', async () => {
    const app = await createTestApp({
      UPSTREAM_BASE_URL: upstream.url,
      CORS_ORIGINS: `${APP_ORIGIN},http://localhost:5173`,
    });
    try {
      const pre = await preflight(app, 'http://localhost:5173');
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
      expect(pre.headers.get('vary')).toBe('origin, access-control-request-headers');

      const { key } = await app.createKey();
      const res = await app.request('/v1/models', {
        headers: { origin: APP_ORIGIN, authorization: `Bearer ${key}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
      expect(res.headers.get('vary')).toBe('origin');

      const stranger = await preflight(app, 'https://evil.example.net');
      expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
      expect(stranger.status).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('with CORS_ORIGINS=off, sends no CORS headers and preflights are unknown routes', async () => {
    const app = await createTestApp({ UPSTREAM_BASE_URL: upstream.url, CORS_ORIGINS: 'off' });
    try {
      const pre = await preflight(app, APP_ORIGIN);
      expect(pre.status).toBe(404);
      expect(pre.headers.get('access-control-allow-origin')).toBeNull();
      expect(((await pre.json()) as { error: { code: string } }).error.code).toBe('unknown_url');
    } finally {
      await app.close();
    }
  });
});

describe('routing', () => {
  it("keeps every route in Hono's RegExpRouter, CORS on or off (its trie fallback costs every request)", async () => {
    for (const CORS_ORIGINS of ['*', 'off']) {
      const app = await createTestApp({ UPSTREAM_BASE_URL: upstream.url, CORS_ORIGINS });
      try {
        expect((await app.request('/healthz')).status).toBe(200);
        const router = app.app.router;
        expect(router).toBeInstanceOf(SmartRouter);
        expect((router as SmartRouter<unknown>).activeRouter.name).toBe('RegExpRouter');
      } finally {
        await app.close();
      }
    }
  });
});
