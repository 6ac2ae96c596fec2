import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import { adminJsonBody } from '../http/admin-bodies.js';
import { asAdminRequest } from '../http/admin-refusal.js';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import { readBodyText } from '../http/read-body.js';
import type { AdminAct } from '../keys/key-admin.js';
import { createKey, revokeKey, updateKey } from '../keys/key-admin.js';
import { keyBodyParser } from '../keys/key-settings.js';
import { keyJson } from '../keys/key-view.js';
import { findApiKey, listApiKeys } from '../storage/queries/api-keys.js';
import { tenantOfParam } from './tenant-param.js';

function unknownKey(id: string): GatewayError {
  return GatewayError.notFound(`No API key with id '${id}'.`);
}

/** The acting admin key and the time, for the audit log. */
export function actOf(c: Context<AppEnv>, deps: Deps): AdminAct {
  return { actor: c.get('apiKey').id, at: new Date(deps.clock.now()) };
}

/**
 * /admin/keys: create, list, read, change and revoke API keys. Every change is audited and drops
 * the key from this process's verifier cache, so it applies here at once.
 */
export function adminKeyRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const db = deps.database.db;
  const body = (c: Context<AppEnv>) =>
    readBodyText(c, deps.config.maxBodyBytes, deps.config.bodyTimeoutMs);

  app.post('/keys', async (c) => {
    const input = adminJsonBody(await body(c));
    const act = actOf(c, deps);
    const { key, row } = await asAdminRequest(async () =>
      createKey(db, keyBodyParser.create(input, deps.clock.now()), act),
    );
    deps.keys.invalidate(row.publicId);
    return c.json({ ...keyJson(row), key }, 201);
  });

  app.get('/keys', async (c) => {
    const tenantRef = c.req.query('tenant');
    const tenant =
      tenantRef === undefined ? undefined : await tenantOfParam(db, tenantRef, 'tenant');
    const rows = await listApiKeys(db, tenant?.id);
    return c.json({ object: 'list', data: rows.map(keyJson) });
  });

  app.get('/keys/:id', async (c) => {
    const id = c.req.param('id');
    const row = await findApiKey(db, id);
    if (!row) throw unknownKey(id);
    return c.json(keyJson(row));
  });

  app.patch('/keys/:id', async (c) => {
    const id = c.req.param('id');
    const input = adminJsonBody(await body(c));
    const act = actOf(c, deps);
    const row = await asAdminRequest(async () =>
      updateKey(db, id, keyBodyParser.update(input, deps.clock.now()), act),
    );
    if (!row) throw unknownKey(id);
    deps.keys.invalidate(row.publicId);
    return c.json(keyJson(row));
  });

  app.post('/keys/:id/revoke', async (c) => {
    const id = c.req.param('id');
    const row = await revokeKey(db, id, actOf(c, deps));
    if (!row) throw unknownKey(id);
    deps.keys.invalidate(row.publicId);
    return c.json(keyJson(row));
  });

  return app;
}
