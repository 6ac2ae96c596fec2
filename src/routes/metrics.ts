import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import type { AppEnv } from '../http/env.js';
import { auth } from '../pipeline/auth.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** GET /metrics: Prometheus text, open to loopback scrapers, otherwise scope `admin`. */
export function metricsRoute(deps: Deps) {
  const app = new Hono<AppEnv>();
  const requireAdmin = auth(deps, 'admin');
  app.get(
    '/metrics',
    async (c, next) => {
      const address = getConnInfo(c).remote.address;
      if (address && LOOPBACK.has(address)) return next();
      return requireAdmin(c, next);
    },
    async (c) => {
      const body = await deps.metrics.registry.metrics();
      return c.body(body, 200, { 'content-type': deps.metrics.registry.contentType });
    },
  );
  return app;
}
