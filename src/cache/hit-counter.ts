import type { CacheHitCount } from '../storage/queries/cache-entries.js';

// Tenant ids never contain a newline, so `tenant\nhash` keys cannot collide across tenants.
const SEPARATOR = '\n';

/**
 * Hits served from memory, counted per entry and written to the database in one batch by the
 * database tier, so a hit never waits for a write.
 */
export class HitCounter {
  private readonly pending = new Map<string, CacheHitCount>();

  /** Counts one hit of an entry at `at` (ms since the epoch). */
  count(tenantId: string, exactHash: string, at: number): void {
    const id = tenantId + SEPARATOR + exactHash;
    const known = this.pending.get(id);
    if (known) {
      known.count++;
      if (at > known.lastHitAt.getTime()) known.lastHitAt = new Date(at);
    } else this.pending.set(id, { tenantId, exactHash, count: 1, lastHitAt: new Date(at) });
  }

  /** The counts so far, which are forgotten here (the caller writes them or gives them back). */
  take(): CacheHitCount[] {
    const batch = [...this.pending.values()];
    this.pending.clear();
    return batch;
  }

  /** Puts back counts whose write failed, merged with any counted since. */
  giveBack(batch: readonly CacheHitCount[]): void {
    for (const h of batch) {
      const id = h.tenantId + SEPARATOR + h.exactHash;
      const known = this.pending.get(id);
      if (!known) this.pending.set(id, { ...h });
      else {
        known.count += h.count;
        if (h.lastHitAt > known.lastHitAt) known.lastHitAt = h.lastHitAt;
      }
    }
  }

  /** Drops the counts of a tenant whose cache was flushed. */
  forgetTenant(tenantId: string): void {
    for (const [id, h] of this.pending) if (h.tenantId === tenantId) this.pending.delete(id);
  }

  /** Entries with counts waiting to be written. */
  get size(): number {
    return this.pending.size;
  }
}
