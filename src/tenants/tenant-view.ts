import type { Tenant } from '../storage/queries/tenants.js';

/** A tenant as administrators see it, through the admin API and the CLI's `--json`. */
export interface TenantJson {
  id: string;
  object: 'tenant';
  name: string;
  created_at: string;
  forgotten_at: string | null;
}

/** The public view of a tenant (never its wrapped data key). */
export function tenantJson(tenant: Tenant): TenantJson {
  return {
    id: tenant.id,
    object: 'tenant',
    name: tenant.name,
    created_at: tenant.createdAt.toISOString(),
    forgotten_at: tenant.forgottenAt?.toISOString() ?? null,
  };
}
