import { z } from 'zod';
import type { TenantKeys } from '../crypto/tenant-keys.js';
import type { Spelling } from '../keys/admin-input.js';
import { parseAdminInput } from '../keys/admin-input.js';
import { AdminRefusal } from '../keys/admin-refusal.js';
import type { AdminAct } from '../keys/key-admin.js';
import { nameSchema } from '../keys/key-settings.js';
import type { Database } from '../storage/database.js';
import { revokeTenantKeys } from '../storage/queries/api-keys.js';
import { insertAudit } from '../storage/queries/audit-log.js';
import type { Tenant } from '../storage/queries/tenants.js';
import { findTenant, forgetTenantRow, insertTenant } from '../storage/queries/tenants.js';

function refusal(
  reason: 'unknown' | 'exists' | 'forgotten' | 'own',
  message: string,
): AdminRefusal {
  return new AdminRefusal({
    reason,
    message,
    field: reason === 'exists' ? 'name' : null,
    subject: 'tenant',
  });
}

/**
 * A new tenant's name from an administrator's input (`{ name }`), worded for its audience. Names
 * may not look like tenant ids (`ten_…`), since tenants are looked up by id or name.
 */
export function tenantNameFrom(input: Record<string, unknown>, spelling: Spelling): string {
  const schema = z.strictObject({
    name: nameSchema(spelling, 'name').refine((name) => !name.startsWith('ten_'), {
      error: "Tenant name must not start with 'ten_'.",
    }),
  });
  return parseAdminInput(schema, input, spelling).name;
}

/** Creates a tenant with a valid name (see tenantNameFrom) and audits it; names are unique. */
export async function createTenant(db: Database, name: string, act: AdminAct): Promise<Tenant> {
  if (await findTenant(db, name)) throw refusal('exists', `Tenant '${name}' already exists.`);
  return db.transaction(async (tx) => {
    const tenant = await insertTenant(tx, name);
    await insertAudit(
      tx,
      {
        actor: act.actor,
        tenantId: tenant.id,
        action: 'tenant.create',
        targetType: 'tenant',
        targetId: tenant.id,
        details: { name: tenant.name },
      },
      act.at,
    );
    return tenant;
  });
}

/**
 * Forgets a tenant: destroys its data key (its stored text becomes unreadable at once, everywhere:
 * decryption always reads the key from the database), revokes its API keys, keeps the metadata,
 * and writes the act to the audit log. `keys` drops the revoked keys from this process's cache.
 */
export async function forgetTenant(
  db: Database,
  idOrName: string,
  options: {
    actor: string;
    at?: Date;
    tenantKeys?: TenantKeys;
    keys?: { invalidate(publicId: string): void };
    /**
     * The tenant of the key making the request, over the admin API: forgetting it would revoke
     * that key and leave its holder without the API, so it is refused (the CLI has no such key).
     */
    callerTenantId?: string;
  },
): Promise<{ tenant: Tenant; revokedKeys: number }> {
  const existing = await findTenant(db, idOrName);
  if (!existing) throw refusal('unknown', `Unknown tenant '${idOrName}'.`);
  if (existing.forgottenAt)
    throw refusal('forgotten', `Tenant '${idOrName}' is already forgotten.`);
  if (existing.id === options.callerTenantId) {
    throw refusal(
      'own',
      `Tenant '${idOrName}' is the tenant of the key making this request: forgetting it would revoke that key. Use an admin key of another tenant, or 'tollgate tenants forget' on the command line.`,
    );
  }
  const at = options.at ?? new Date();
  const tenant = await forgetTenantRow(db, existing.id, at);
  if (!tenant) throw refusal('unknown', `Unknown tenant '${idOrName}'.`);
  const revoked = await revokeTenantKeys(db, existing.id, at);
  options.tenantKeys?.evict(existing.id);
  for (const publicId of revoked) options.keys?.invalidate(publicId);
  await insertAudit(
    db,
    {
      actor: options.actor,
      tenantId: existing.id,
      action: 'tenant.forget',
      targetType: 'tenant',
      targetId: existing.id,
      details: { name: existing.name, revokedKeys: revoked.length },
    },
    at,
  );
  return { tenant, revokedKeys: revoked.length };
}
