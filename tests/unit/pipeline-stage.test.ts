import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../../src/http/env.js';
import { GatewayError } from '../../src/http/errors.js';
import type { Stage } from '../../src/pipeline/stage.js';
import { pipeline, stageMiddleware } from '../../src/pipeline/stage.js';

/** An app whose one route is a pipeline behind a middleware that notes what it saw afterwards. */
function appWith(stages: Stage[], seen: string[]) {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => {
    const status = err instanceof GatewayError ? err.status : 500;
    return c.json({ error: err.message }, status);
  });
  app.post(
    '/run',
    async (c, next) => {
      await next();
      seen.push(`after: ${c.res.status} ${c.error?.message ?? 'no error'}`);
    },
    pipeline(stages, (c) => {
      seen.push('responder');
      return c.json({ model: c.get('sessionId') ?? null });
    }),
  );
  return app;
}

describe('an endpoint pipeline', () => {
  it('runs its stages in order, waiting for each one that returns a promise, then the responder', async () => {
    const seen: string[] = [];
    const app = appWith(
      [
        (c) => {
          seen.push('sync');
          c.set('sessionId', 's-1');
        },
        async () => {
          await new Promise<void>((resolve) => setImmediate(resolve));
          seen.push('async');
        },
        (c) => {
          seen.push(`sees ${c.get('sessionId')}`);
        },
      ],
      seen,
    );
    const res = await app.request('/run', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ model: 's-1' });
    expect(seen).toEqual(['sync', 'async', 'sees s-1', 'responder', 'after: 200 no error']);
  });

  it('ends the request at a stage that throws, synchronously or not: the app renders the error and the step before the pipeline sees it', async () => {
    for (const failing of [
      () => {
        throw GatewayError.invalidRequest('bad header', 'x-h', 'invalid_value');
      },
      async () => {
        await Promise.resolve();
        throw GatewayError.invalidRequest('bad header', 'x-h', 'invalid_value');
      },
    ] satisfies Stage[]) {
      const seen: string[] = [];
      const app = appWith([failing, () => void seen.push('not reached')], seen);
      const res = await app.request('/run', { method: 'POST' });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'bad header' });
      expect(seen).toEqual(['after: 400 bad header']);
    }
  });

  it('a stage used as a middleware runs before the handler and stops it by throwing', async () => {
    const app = new Hono<AppEnv>();
    app.onError((err, c) => c.json({ error: err.message }, 403));
    let allowed = false;
    app.get(
      '/read',
      stageMiddleware(async () => {
        if (!allowed) throw new Error('no');
      }),
      (c) => c.text('read'),
    );
    expect((await app.request('/read')).status).toBe(403);
    allowed = true;
    const res = await app.request('/read');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('read');
  });
});
