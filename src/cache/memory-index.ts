import { LRUCache } from 'lru-cache';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { cosineSimilarity } from './vector-math.js';

/**
 * One cache entry in memory. The answer and question are held decrypted when this process stored
 * them, sealed (ciphertext) when they were read from the database, and opened on first use.
 */
export interface IndexedEntry {
  /** The row id of this version of the entry. */
  readonly id: string;
  readonly tenantId: string;
  readonly scopeHash: string;
  readonly exactHash: string;
  /** The embedder that made `vector`; vectors of different embedders are never compared. */
  readonly embedder: string | null;
  readonly vector: Float32Array | null;
  readonly response: ChatCompletion | Buffer;
  /** The normalised question (null when the question is matched exactly only). */
  readonly question: string | Buffer | null;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Approximate bytes the entry occupies. */
  readonly bytes: number;
}

/** The nearest entry of a scope and its cosine similarity to the question. */
export interface NearestEntry {
  entry: IndexedEntry;
  similarity: number;
}

// Tenant ids never contain a newline, so `tenant\nhash` keys cannot collide across tenants.
const SEPARATOR = '\n';
const ENTRY_OVERHEAD_BYTES = 256;

/** Approximate bytes of an entry's parts in memory (strings as UTF-16). */
export function entryBytes(parts: {
  responseChars: number;
  questionChars: number;
  vector: Float32Array | null;
}): number {
  return (
    (parts.responseChars + parts.questionChars) * 2 +
    (parts.vector?.byteLength ?? 0) +
    ENTRY_OVERHEAD_BYTES
  );
}

/**
 * The cache's lookup index: entries by (tenant, exact hash), and each (tenant, scope)'s entries
 * for the semantic search, which scans them linearly (a scope holds few entries). Bounded by
 * bytes; the least recently used entries leave memory first (they stay in the database).
 */
export class MemoryIndex {
  private readonly lru: LRUCache<string, IndexedEntry>;
  private readonly scopes = new Map<string, Set<IndexedEntry>>();

  constructor(maxBytes: number) {
    this.lru = new LRUCache<string, IndexedEntry>({
      maxSize: maxBytes,
      sizeCalculation: (entry) => Math.max(1, entry.bytes),
      dispose: (entry) => this.unlinkScope(entry),
    });
  }

  /** The entry of this exact key, marked as recently used. */
  get(tenantId: string, exactHash: string): IndexedEntry | undefined {
    return this.lru.get(tenantId + SEPARATOR + exactHash);
  }

  /** Adds or replaces an entry. */
  set(entry: IndexedEntry): void {
    const key = entry.tenantId + SEPARATOR + entry.exactHash;
    this.lru.set(key, entry);
    // An entry larger than the whole bound is refused by the LRU: keep the scope in step.
    if (this.lru.peek(key) !== entry) return;
    const scopeKey = entry.tenantId + SEPARATOR + entry.scopeHash;
    let scope = this.scopes.get(scopeKey);
    if (!scope) {
      scope = new Set();
      this.scopes.set(scopeKey, scope);
    }
    scope.add(entry);
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

  /** Drops entries expired at `now`; returns them. */
  deleteExpired(now: number): IndexedEntry[] {
    const expired = [...this.lru.values()].filter((e) => e.expiresAt <= now);
    for (const e of expired) this.lru.delete(e.tenantId + SEPARATOR + e.exactHash);
    return expired;
  }

  /** True when the scope has entries in memory (else embedding a question cannot find anything). */
  hasScope(tenantId: string, scopeHash: string): boolean {
    return (this.scopes.get(tenantId + SEPARATOR + scopeHash)?.size ?? 0) > 0;
  }

  /**
   * The live entry of a scope whose vector (from the same embedder) is nearest to `vector`, among
   * those created at or after `notBefore`.
   */
  nearest(q: {
    tenantId: string;
    scopeHash: string;
    embedder: string;
    vector: Float32Array;
    now: number;
    notBefore: number | null;
  }): NearestEntry | null {
    const scope = this.scopes.get(q.tenantId + SEPARATOR + q.scopeHash);
    if (!scope) return null;
    let best: NearestEntry | null = null;
    for (const entry of scope) {
      if (entry.embedder !== q.embedder || entry.vector === null) continue;
      if (entry.expiresAt <= q.now || (q.notBefore !== null && entry.createdAt < q.notBefore)) {
        continue;
      }
      if (entry.vector.length !== q.vector.length) continue;
      const similarity = cosineSimilarity(q.vector, entry.vector);
      if (best === null || similarity > best.similarity) best = { entry, similarity };
    }
    return best;
  }

  /** Entries held. */
  get size(): number {
    return this.lru.size;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.lru.calculatedSize;
  }

  private unlinkScope(entry: IndexedEntry): void {
    const scopeKey = entry.tenantId + SEPARATOR + entry.scopeHash;
    const scope = this.scopes.get(scopeKey);
    if (!scope) return;
    scope.delete(entry);
    if (scope.size === 0) this.scopes.delete(scopeKey);
  }
}
