import type { TenantKeys } from '../crypto/tenant-keys.js';
import type { AdminAct } from '../keys/key-admin.js';
import type { Database } from '../storage/database.js';
import { revokeTenantKeys } from '../storage/queries/api-keys.js';
import { insertAudit } from '../storage/queries/audit-log.js';
import type { Tenant } from '../storage/queries/tenants.js';
import { findTenant, forgetTenantRow, insertTenant } from '../storage/queries/tenants.js';

/** Why a tenant operation was refused. */
export type TenantRefusal = 'unknown' | 'forgotten' | 'exists' | 'invalid_name';

/** Raised for an unknown, already forgotten or duplicate tenant, or a bad name. */
export class TenantAdminError extends Error {
  constructor(
    message: string,
    readonly reason: TenantRefusal = 'unknown',
  ) {
    super(message);
    this.name = 'TenantAdminError';
  }
}

/**
 * Creates a tenant and audits it. Names are unique and may not look like tenant ids (`ten_…`),
 * since tenants are looked up by id or name.
 */
export async function createTenant(db: Database, name: string, act: AdminAct): Promise<Tenant> {
  const trimmed = name.trim();
  if (trimmed === '') throw new TenantAdminError('tenant name must not be empty', 'invalid_name');
  if (trimmed.startsWith('ten_'))
    throw new TenantAdminError("tenant name must not start with 'ten_'", 'invalid_name');
  if (await findTenant(db, trimmed))
    throw new TenantAdminError(`tenant '${trimmed}' already exists`, 'exists');
  return db.transaction(async (tx) => {
    const tenant = await insertTenant(tx, trimmed);
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
  },
): Promise<{ tenant: Tenant; revokedKeys: number }> {
  const existing = await findTenant(db, idOrName);
  if (!existing) throw new TenantAdminError(`unknown tenant '${idOrName}'`);
  if (existing.forgottenAt)
    throw new TenantAdminError(`tenant '${idOrName}' is already forgotten`, 'forgotten');
  const at = options.at ?? new Date();
  const tenant = await forgetTenantRow(db, existing.id, at);
  if (!tenant) throw new TenantAdminError(`unknown tenant '${idOrName}'`);
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
