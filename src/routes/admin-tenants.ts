import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import { adminJsonBody } from '../http/admin-bodies.js';
import { asAdminRequest } from '../http/admin-refusal.js';
import type { AppEnv } from '../http/env.js';
import { readBodyText } from '../http/read-body.js';
import { JSON_SPELLING } from '../keys/admin-input.js';
import { listTenants } from '../storage/queries/tenants.js';
import { createTenant, forgetTenant, tenantNameFrom } from '../tenants/tenant-admin.js';
import { tenantJson } from '../tenants/tenant-view.js';
import { actOf } from './admin-keys.js';

/** /admin/tenants: create, list and forget (crypto-shred) tenants; every change is audited. */
export function adminTenantRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const db = deps.database.db;

  app.post('/tenants', async (c) => {
    const text = await readBodyText(c, deps.config.maxBodyBytes, deps.config.bodyTimeoutMs);
    const input = adminJsonBody(text);
    const act = actOf(c, deps);
    const tenant = await asAdminRequest(async () =>
      createTenant(db, tenantNameFrom(input, JSON_SPELLING), act),
    );
    return c.json(tenantJson(tenant), 201);
  });

  app.get('/tenants', async (c) => {
    const rows = await listTenants(db);
    return c.json({ object: 'list', data: rows.map(tenantJson) });
  });

  app.post('/tenants/:id/forget', async (c) => {
    const { actor, at } = actOf(c, deps);
    const { tenant, revokedKeys } = await asAdminRequest(() =>
      forgetTenant(db, c.req.param('id'), {
        actor,
        at,
        tenantKeys: deps.tenantKeys,
        keys: deps.keys,
        callerTenantId: c.get('apiKey')?.tenantId,
      }),
    );
    deps.embeddingsCache.clear(tenant.id);
    return c.json({ ...tenantJson(tenant), revoked_keys: revokedKeys });
  });

  return app;
}
