import type { CacheEntryRow } from '../storage/queries/cache-entries.js';
import type { DatabaseTier } from './database-tier.js';
import type { IndexedEntry, MemoryIndex } from './memory-index.js';
import type { TenantCap } from './tenant-cap.js';
import { vectorOfRow } from './vector-bytes.js';

/**
 * Admits entries to the memory index under the per-tenant cap: entries stored here, the live rows
 * read at start-up, and rows other instances wrote (sync). Whatever the cap pushes out leaves
 * memory at once and its row is queued for deletion.
 */
export class IndexLoader {
  private loaded = false;

  constructor(
    private readonly deps: {
      index: MemoryIndex;
      cap: TenantCap;
      tier: DatabaseTier;
      /** Vectors of another embedder are dropped: they are never compared with ours. */
      embedderId: string;
      memoryBytes: number;
      /**
       * An entry's lifetime here: a row stored under a longer one (an earlier `CACHE_TTL_S`, or
       * before retention shortened it) expires by its age all the same.
       */
      ttlMs: number;
      /** Drops a tenant's entries from this process (another instance flushed its cache). */
      forgetTenant: (tenantId: string) => void;
      /** Told of the entries admitted with a sealed question and a vector (their numbers unread). */
      admittedSealed?: (entries: readonly IndexedEntry[]) => void;
    },
  ) {}

  /** Counts an entry under its tenant's cap and evicts what the cap pushes out. */
  admit(entry: IndexedEntry): void {
    const { cap, index, tier } = this.deps;
    for (const victim of cap.touch(entry.tenantId, entry.exactHash, entry.id)) {
      index.delete(victim.tenantId, victim.exactHash);
      tier.enqueueDelete(victim);
    }
  }

  /**
   * Start-up: every live row counts under the cap (least recently used first); the newest rows
   * that fit in the memory bound are held, sealed, until first used.
   */
  async load(now: number): Promise<void> {
    const { cap, index, tier } = this.deps;
    await tier.clampExpiries(this.deps.ttlMs);
    const usage = await tier.loadUsage(now);
    if (!usage) return;
    for (const u of usage) {
      for (const victim of cap.touch(u.tenantId, u.exactHash, u.id)) tier.enqueueDelete(victim);
    }
    const held: LoadedEntry[] = [];
    let bytes = 0;
    const read = await tier.loadNewest(now, (row) => {
      if (cap.idOf(row.tenantId, row.exactHash) !== row.id) return true;
      const loaded = this.entryOf(row);
      bytes += loaded.entry.bytes;
      if (bytes > this.deps.memoryBytes) return false;
      held.push(loaded);
      return true;
    });
    // Oldest first, so the newest are the most recently used in memory.
    for (let i = held.length - 1; i >= 0; i--) {
      const loaded = held[i];
      if (loaded) index.set(loaded.entry, loaded.vector);
    }
    this.tellSealed(held);
    this.loaded = read;
  }

  /**
   * Drops the tenants other instances flushed since the last look, then admits the rows they
   * wrote (loads first if start-up could not). Returns the tenants flushed elsewhere. An entry
   * this process stored in the moment between another's flush and this look goes with the flush
   * (from memory only: its row stays for the others and for the next start).
   */
  async sync(now: number): Promise<string[]> {
    if (!this.loaded) {
      await this.load(now);
      return [];
    }
    const { cap, index, tier } = this.deps;
    // Ids are UUIDv7: a row whose id sorts at or below the known one is not newer than ours.
    const known = (r: { tenantId: string; exactHash: string; id: string }) => {
      const id = cap.idOf(r.tenantId, r.exactHash);
      return id !== undefined && id >= r.id;
    };
    const found = await tier.sync(now, known);
    if (!found) return [];
    for (const tenantId of found.flushedTenants) this.deps.forgetTenant(tenantId);
    const admitted: LoadedEntry[] = [];
    for (const row of found.rows) {
      if (known(row)) continue;
      const loaded = this.entryOf(row);
      index.set(loaded.entry, loaded.vector);
      this.admit(loaded.entry);
      admitted.push(loaded);
    }
    this.tellSealed(admitted);
    return found.flushedTenants;
  }

  private tellSealed(loaded: readonly LoadedEntry[]): void {
    const sealed = loaded.filter((l) => l.vector !== null && l.entry.question !== null);
    if (sealed.length > 0) this.deps.admittedSealed?.(sealed.map((l) => l.entry));
  }

  private entryOf(row: CacheEntryRow): LoadedEntry {
    const vector = row.embedder === this.deps.embedderId ? readableVector(row) : null;
    const entry: IndexedEntry = {
      id: row.id,
      tenantId: row.tenantId,
      scopeHash: row.scopeHash,
      exactHash: row.exactHash,
      embedder: vector ? row.embedder : null,
      dimensions: vector ? vector.length : null,
      response: row.responseEnc,
      question: row.questionEnc,
      createdAt: row.createdAt.getTime(),
      expiresAt: Math.min(row.expiresAt.getTime(), row.createdAt.getTime() + this.deps.ttlMs),
      provider: row.provider,
      bytes: this.deps.index.bytesOf({
        responseChars: row.responseEnc.length / 2,
        questionChars: (row.questionEnc?.length ?? 0) / 2,
        vector,
      }),
    };
    return { entry, vector };
  }
}

/** A row as an entry, and its vector for the search index. */
interface LoadedEntry {
  entry: IndexedEntry;
  vector: Float32Array | null;
}

/** A row's vector; null when it has none or its bytes cannot be read (it is matched exactly only). */
function readableVector(row: CacheEntryRow): Float32Array | null {
  try {
    return vectorOfRow(row);
  } catch {
    return null;
  }
}
