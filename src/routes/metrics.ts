import { createHash, timingSafeEqual } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import type { AppEnv } from '../http/env.js';
import { requireKey } from '../pipeline/auth.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * GET /metrics: Prometheus text, open to loopback scrapers; from elsewhere it needs the
 * METRICS_TOKEN as a Bearer token, or a key with scope `admin`.
 */
export function metricsRoute(deps: Deps) {
  const app = new Hono<AppEnv>();
  const requireAdmin = requireKey(deps, 'admin');
  const token = deps.config.metricsToken;
  const tokenDigest = token === undefined ? null : digest(token);
  app.get(
    '/metrics',
    async (c, next) => {
      const address = getConnInfo(c).remote.address;
      if (address && LOOPBACK.has(address)) return next();
      const sent = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1]?.trim();
      // Compared as digests so the comparison takes the same time whatever was sent.
      if (tokenDigest && sent && timingSafeEqual(digest(sent), tokenDigest)) return next();
      return requireAdmin(c, next);
    },
    async (c) => {
      const body = await deps.metrics.scrape();
      return c.body(body, 200, { 'content-type': deps.metrics.registry.contentType });
    },
  );
  return app;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
