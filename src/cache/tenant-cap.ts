/** An entry pushed out by the per-tenant cap. */
export interface CapVictim {
  tenantId: string;
  exactHash: string;
  /** The row id, so only this version of the entry is deleted. */
  id: string;
}

/**
 * The per-tenant cap: every live entry of each tenant (in memory or only in the database) in
 * least-recently-used order, so a store beyond the cap names at once, in memory, the entries to
 * evict. A Map keeps insertion order; a use moves the entry to the end.
 */
export class TenantCap {
  private readonly tenants = new Map<string, Map<string, string>>();

  constructor(private readonly maxPerTenant: number) {}

  /** Notes an entry as just stored or used; returns the entries now beyond the cap, oldest first. */
  touch(tenantId: string, exactHash: string, id: string): CapVictim[] {
    let entries = this.tenants.get(tenantId);
    if (!entries) {
      entries = new Map();
      this.tenants.set(tenantId, entries);
    }
    entries.delete(exactHash);
    entries.set(exactHash, id);
    const victims: CapVictim[] = [];
    for (const [hash, victimId] of entries) {
      if (entries.size <= this.maxPerTenant) break;
      entries.delete(hash);
      victims.push({ tenantId, exactHash: hash, id: victimId });
    }
    return victims;
  }

  /** The row id the cap knows for an entry, if it knows the entry. */
  idOf(tenantId: string, exactHash: string): string | undefined {
    return this.tenants.get(tenantId)?.get(exactHash);
  }

  /** Forgets one entry (expired or unreadable). */
  remove(tenantId: string, exactHash: string): void {
    this.tenants.get(tenantId)?.delete(exactHash);
  }

  /** Forgets every entry of a tenant. */
  forgetTenant(tenantId: string): void {
    this.tenants.delete(tenantId);
  }

  /** How many live entries of a tenant are known. */
  count(tenantId: string): number {
    return this.tenants.get(tenantId)?.size ?? 0;
  }
}
