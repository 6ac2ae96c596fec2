/** Tenants' data keys: unwrapped on demand under the key ring. */
export interface TenantKeys {
  /**
   * The key to encrypt a new row with (created on first use), or null for a forgotten tenant.
   * Cached briefly: a forgotten tenant may still get rows encrypted for up to the cache TTL,
   * which its shredded key then makes unreadable too.
   */
  forEncryption(tenantId: string): Promise<Buffer | null>;
  /** The key to decrypt with, read fresh from the database: null once the tenant is forgotten. */
  forDecryption(tenantId: string): Promise<Buffer | null>;
  /** Forgets cached keys of a tenant (after forgetting it here). */
  evict(tenantId: string): void;
}
