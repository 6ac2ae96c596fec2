import type { TenantKeys } from '../crypto/tenant-keys.js';
import type { Database } from '../storage/db.js';
import { revokeTenantKeys } from '../storage/queries/api-keys.js';
import { insertAudit } from '../storage/queries/audit-log.js';
import type { Tenant } from '../storage/queries/tenants.js';
import { findTenant, forgetTenantRow } from '../storage/queries/tenants.js';

/** Raised for an unknown or already forgotten tenant. */
export class TenantAdminError extends Error {}

/**
 * Forgets a tenant: destroys its data key (its stored text becomes unreadable at once, everywhere:
 * decryption always reads the key from the database), revokes its API keys, keeps the metadata,
 * and writes the act to the audit log.
 */
export async function forgetTenant(
  db: Database,
  idOrName: string,
  options: { actor: string; at?: Date; tenantKeys?: TenantKeys },
): Promise<{ tenant: Tenant; revokedKeys: number }> {
  const existing = await findTenant(db, idOrName);
  if (!existing) throw new TenantAdminError(`unknown tenant '${idOrName}'`);
  if (existing.forgottenAt) throw new TenantAdminError(`tenant '${idOrName}' is already forgotten`);
  const at = options.at ?? new Date();
  const tenant = await forgetTenantRow(db, existing.id, at);
  if (!tenant) throw new TenantAdminError(`unknown tenant '${idOrName}'`);
  const revokedKeys = await revokeTenantKeys(db, existing.id, at);
  options.tenantKeys?.evict(existing.id);
  await insertAudit(
    db,
    {
      actor: options.actor,
      tenantId: existing.id,
      action: 'tenant.forget',
      targetType: 'tenant',
      targetId: existing.id,
      details: { name: existing.name, revokedKeys },
    },
    at,
  );
  return { tenant, revokedKeys };
}
