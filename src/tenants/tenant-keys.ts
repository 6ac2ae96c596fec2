import { LRUCache } from 'lru-cache';
import { generateDataKey, unwrapDataKey, wrapDataKey } from '../crypto/envelope.js';
import type { KeyRing } from '../crypto/key-ring.js';
import { MasterKeyError } from '../crypto/key-ring.js';
import type { TenantKeys } from '../crypto/tenant-keys.js';
import { withTimeout } from '../runtime/with-timeout.js';
import type { Database } from '../storage/database.js';
import type { Tenant } from '../storage/queries/tenants.js';
import {
  findTenant,
  listTenants,
  rewrapTenantDataKey,
  setTenantDataKeyIfMissing,
} from '../storage/queries/tenants.js';

const LOAD_TIMEOUT_MS = 3_000;

function unwrapFor(ring: KeyRing, tenant: Tenant): Buffer | null {
  if (tenant.forgottenAt || !tenant.dataKeyWrapped || !tenant.masterKeyId) return null;
  const master = ring.get(tenant.masterKeyId);
  if (!master) {
    throw new MasterKeyError(
      `tenant ${tenant.id}'s data key is wrapped under master key '${tenant.masterKeyId}', which is not configured (configured: ${ring.ids.join(', ')}); restore that key in TOLLGATE_MASTER_KEYS or <data dir>/master.key`,
    );
  }
  try {
    return unwrapDataKey(master, tenant.dataKeyWrapped, tenant.id);
  } catch {
    throw new MasterKeyError(
      `master key '${master.id}' cannot unwrap tenant ${tenant.id}'s data key: it is not the key that data was written with; restore the original key`,
    );
  }
}

/** Builds the tenant key service over the database and key ring. */
export function createTenantKeys(options: {
  db: Database;
  ring: KeyRing;
  cacheTtlMs?: number;
}): TenantKeys {
  const { db, ring } = options;
  const cache = new LRUCache<string, { key: Buffer | null }>({
    max: 10_000,
    ttl: options.cacheTtlMs ?? 5_000,
  });
  // The last key seen per tenant, used only while the database cannot be reached, so rows written
  // during an outage are still encrypted (and land through the outbox).
  const lastKnown = new LRUCache<string, { key: Buffer | null }>({ max: 10_000 });

  async function load(tenantId: string, create: boolean): Promise<Buffer | null> {
    let tenant = await findTenant(db, tenantId);
    if (!tenant || tenant.forgottenAt) return null;
    if (!tenant.dataKeyWrapped && create) {
      const wrapped = wrapDataKey(ring.current, generateDataKey(), tenant.id);
      tenant = await setTenantDataKeyIfMissing(db, tenant.id, wrapped, ring.current.id);
      if (!tenant) return null;
    }
    return unwrapFor(ring, tenant);
  }

  return {
    async forEncryption(tenantId) {
      const hit = cache.get(tenantId);
      if (hit) return hit.key;
      try {
        const key = await withTimeout(
          load(tenantId, true),
          LOAD_TIMEOUT_MS,
          'tenant key lookup timed out',
        );
        cache.set(tenantId, { key });
        lastKnown.set(tenantId, { key });
        return key;
      } catch (err) {
        const known = lastKnown.get(tenantId);
        if (known && !(err instanceof MasterKeyError)) return known.key;
        throw err;
      }
    },
    forDecryption: (tenantId) => load(tenantId, false),
    evict: (tenantId) => {
      cache.delete(tenantId);
      lastKnown.delete(tenantId);
    },
  };
}

/**
 * Checks at start-up that the key ring opens every tenant's data key, so a wrong or missing master
 * key stops the process with a clear message instead of producing unreadable rows.
 */
export async function verifyKeyRing(db: Database, ring: KeyRing): Promise<void> {
  for (const tenant of await listTenants(db)) unwrapFor(ring, tenant);
}

/** Re-wraps every data key under the current master key; rows are not touched. Returns the count. */
export async function rotateMasterKey(db: Database, ring: KeyRing): Promise<number> {
  let count = 0;
  for (const tenant of await listTenants(db)) {
    const dataKey = unwrapFor(ring, tenant);
    if (!dataKey || tenant.masterKeyId === ring.current.id) continue;
    await rewrapTenantDataKey(
      db,
      tenant.id,
      wrapDataKey(ring.current, dataKey, tenant.id),
      ring.current.id,
    );
    count++;
  }
  return count;
}
