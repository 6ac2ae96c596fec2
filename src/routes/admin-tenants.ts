import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import { createTenantBody, parseAdminBody } from '../http/admin-bodies.js';
import { asAdminRequest } from '../http/admin-refusal.js';
import type { AppEnv } from '../http/env.js';
import { readBodyText } from '../http/read-body.js';
import type { Tenant } from '../storage/queries/tenants.js';
import { listTenants } from '../storage/queries/tenants.js';
import { createTenant, forgetTenant } from '../tenants/tenant-admin.js';
import { actOf } from './admin-keys.js';

/** A tenant as the admin API shows it (never its wrapped data key). */
export function tenantJson(tenant: Tenant) {
  return {
    id: tenant.id,
    object: 'tenant',
    name: tenant.name,
    created_at: tenant.createdAt.toISOString(),
    forgotten_at: tenant.forgottenAt?.toISOString() ?? null,
  };
}

/** /admin/tenants: create, list and forget (crypto-shred) tenants; every change is audited. */
export function adminTenantRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const db = deps.database.db;

  app.post('/tenants', async (c) => {
    const text = await readBodyText(c.req.raw, deps.config.maxBodyBytes);
    const input = parseAdminBody(createTenantBody, text);
    const act = actOf(c, deps);
    const tenant = await asAdminRequest(() => createTenant(db, input.name, act));
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
      }),
    );
    return c.json({ ...tenantJson(tenant), revoked_keys: revokedKeys });
  });

  return app;
}
