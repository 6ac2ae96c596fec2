import { LRUCache } from 'lru-cache';
import type { ChatCompletion } from 'openai/resources/chat/completions';

/** A decrypted entry held in memory. */
export interface MemoryEntry {
  completion: ChatCompletion;
  createdAt: number;
  expiresAt: number;
  /** Approximate bytes the entry occupies. */
  bytes: number;
}

// Tenant ids never contain a newline, so `tenant\nhash` keys cannot collide across tenants.
const SEPARATOR = '\n';

/** The in-memory tier: decrypted entries keyed by (tenant, exact hash), bounded by bytes. */
export class MemoryTier {
  private readonly lru: LRUCache<string, MemoryEntry>;

  constructor(maxBytes: number) {
    this.lru = new LRUCache<string, MemoryEntry>({
      maxSize: maxBytes,
      sizeCalculation: (entry) => Math.max(1, entry.bytes),
    });
  }

  get(tenantId: string, exactHash: string): MemoryEntry | undefined {
    return this.lru.get(tenantId + SEPARATOR + exactHash);
  }

  set(tenantId: string, exactHash: string, entry: MemoryEntry): void {
    this.lru.set(tenantId + SEPARATOR + exactHash, entry);
  }

  delete(tenantId: string, exactHash: string): void {
    this.lru.delete(tenantId + SEPARATOR + exactHash);
  }

  /** Drops every entry of a tenant. */
  deleteTenant(tenantId: string): void {
    const prefix = tenantId + SEPARATOR;
    for (const key of [...this.lru.keys()]) {
      if (key.startsWith(prefix)) this.lru.delete(key);
    }
  }

  /** Bytes held. */
  get bytes(): number {
    return this.lru.calculatedSize;
  }
}

/** Approximate in-memory size of a completion serialised as `json` (UTF-16 plus overhead). */
export function entryBytes(json: string): number {
  return json.length * 2 + 256;
}
