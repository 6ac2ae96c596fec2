/** An entry pushed out by the per-tenant cap. */
export interface CapVictim {
  tenantId: string;
  exactHash: string;
  /** The row id, so only this version of the entry is deleted. */
  id: string;
}

/** One entry in a tenant's recency list. */
interface Use {
  readonly exactHash: string;
  id: string;
  older: Use | null;
  newer: Use | null;
}

/** A tenant's entries by exact hash, and the same entries from least to most recently used. */
interface TenantUses {
  readonly byHash: Map<string, Use>;
  oldest: Use | null;
  newest: Use | null;
}

/**
 * The per-tenant cap: every live entry of each tenant (in memory or only in the database) in
 * least-recently-used order, so a store beyond the cap names at once, in memory, the entries to
 * evict. The order is a linked list, so a use and an eviction cost the same at any size. (A Map's
 * own order would do it in fewer lines, but finding its oldest entry means iterating from its
 * start, past every entry deleted since the map last rehashed: at a full cap of 10,000 that was
 * ~7 µs per store, measured.)
 */
export class TenantCap {
  private readonly tenants = new Map<string, TenantUses>();

  constructor(private readonly maxPerTenant: number) {}

  /** Notes an entry as just stored or used; returns the entries now beyond the cap, oldest first. */
  touch(tenantId: string, exactHash: string, id: string): CapVictim[] {
    let uses = this.tenants.get(tenantId);
    if (!uses) {
      uses = { byHash: new Map(), oldest: null, newest: null };
      this.tenants.set(tenantId, uses);
    }
    let use = uses.byHash.get(exactHash);
    if (use) {
      unlink(uses, use);
      use.id = id;
    } else {
      use = { exactHash, id, older: null, newer: null };
      uses.byHash.set(exactHash, use);
    }
    use.older = uses.newest;
    if (uses.newest) uses.newest.newer = use;
    else uses.oldest = use;
    uses.newest = use;
    const victims: CapVictim[] = [];
    while (uses.byHash.size > this.maxPerTenant && uses.oldest) {
      const victim = uses.oldest;
      unlink(uses, victim);
      uses.byHash.delete(victim.exactHash);
      victims.push({ tenantId, exactHash: victim.exactHash, id: victim.id });
    }
    return victims;
  }

  /** The row id the cap knows for an entry, if it knows the entry. */
  idOf(tenantId: string, exactHash: string): string | undefined {
    return this.tenants.get(tenantId)?.byHash.get(exactHash)?.id;
  }

  /** Forgets one entry (expired or unreadable). */
  remove(tenantId: string, exactHash: string): void {
    const uses = this.tenants.get(tenantId);
    const use = uses?.byHash.get(exactHash);
    if (!uses || !use) return;
    unlink(uses, use);
    uses.byHash.delete(exactHash);
  }

  /** Forgets every entry of a tenant. */
  forgetTenant(tenantId: string): void {
    this.tenants.delete(tenantId);
  }

  /** How many live entries of a tenant are known. */
  count(tenantId: string): number {
    return this.tenants.get(tenantId)?.byHash.size ?? 0;
  }
}

/** Takes `use` out of its tenant's recency list (it stays in `byHash`). */
function unlink(uses: TenantUses, use: Use): void {
  if (use.older) use.older.newer = use.newer;
  else uses.oldest = use.newer;
  if (use.newer) use.newer.older = use.older;
  else uses.newest = use.older;
  use.older = null;
  use.newer = null;
}
