import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import type { AppEnv } from '../http/env.js';
import { insertAudit } from '../storage/queries/audit-log.js';
import { tenantOfParam } from './tenant-param.js';

/**
 * DELETE /admin/cache: flushes the caller's tenant's cache (or `?tenant=` another, by id or name;
 * an unknown one is a 400), in memory and in the database, where other instances learn of it, and
 * writes an audit entry. Mounted by `adminRoutes`, behind its admin scope, plain-URL and
 * database-ready stages.
 */
export function adminCacheRoute(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.delete('/cache', async (c) => {
    const key = c.get('apiKey');
    const asked = c.req.query('tenant');
    let tenantId = key.tenantId;
    if (asked !== undefined && asked !== '') {
      tenantId = (await tenantOfParam(deps.database.db, asked, 'tenant')).id;
    }
    const deleted = await deps.cache.flushTenant(tenantId);
    deps.embeddingsCache.clear(tenantId);
    await insertAudit(
      deps.database.db,
      {
        actor: key.id,
        tenantId,
        action: 'cache.flush',
        targetType: 'tenant',
        targetId: tenantId,
        details: { deleted },
      },
      new Date(deps.clock.now()),
    );
    return c.json({ object: 'cache.flush', tenant: tenantId, deleted });
  });
  return app;
}
