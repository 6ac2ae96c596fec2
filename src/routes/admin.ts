import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import type { AppEnv } from '../http/env.js';
import { requireKey } from '../pipeline/auth.js';
import { databaseReady } from '../pipeline/database-ready.js';
import { plainUrl } from '../pipeline/plain-url.js';
import { adminCacheRoute } from './admin-cache.js';
import { adminKeyRoutes } from './admin-keys.js';
import { adminTenantRoutes } from './admin-tenants.js';

/**
 * The admin API, mounted at /admin. Scope `admin` is the gateway administrator: it manages the
 * keys and tenants of every tenant, not only its own.
 */
export function adminRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.use('*', requireKey(deps, 'admin'));
  app.use('*', plainUrl());
  app.use('*', databaseReady(deps));
  app.route('/', adminKeyRoutes(deps));
  app.route('/', adminTenantRoutes(deps));
  app.route('/', adminCacheRoute(deps));
  return app;
}
