import { GatewayError } from '../http/errors.js';
import type { Database } from '../storage/database.js';
import type { Tenant } from '../storage/queries/tenants.js';
import { findTenant } from '../storage/queries/tenants.js';

/**
 * The tenant a query parameter names, by id or by name, as the admin and analytics routes take
 * it; a 400 naming the parameter when no tenant has that id or name.
 */
export async function tenantOfParam(db: Database, ref: string, param: string): Promise<Tenant> {
  const tenant = await findTenant(db, ref);
  if (!tenant) {
    throw GatewayError.invalidRequest(`Unknown tenant '${ref}'.`, param, 'invalid_value');
  }
  return tenant;
}
