import { LRUCache } from 'lru-cache';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { VectorShelf } from './vector-shelf.js';

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

/** One (tenant, scope)'s entries, and their vectors by embedder. */
interface Scope {
  entries: Set<IndexedEntry>;
  /** Keyed by embedder and dimensions: vectors of different embedders are never compared. */
  shelves: Map<string, VectorShelf<IndexedEntry>>;
}

/**
 * The cache's lookup index: entries by (tenant, exact hash), and each (tenant, scope)'s vectors
 * for the semantic search (see VectorShelf). Bounded by bytes; the least recently used entries
 * leave memory first (they stay in the database).
 */
export class MemoryIndex {
  private readonly lru: LRUCache<string, IndexedEntry>;
  private readonly scopes = new Map<string, Scope>();

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
      scope = { entries: new Set(), shelves: new Map() };
      this.scopes.set(scopeKey, scope);
    }
    scope.entries.add(entry);
    if (entry.embedder === null || entry.vector === null) return;
    const shelfKey = shelfKeyOf(entry.embedder, entry.vector.length);
    let shelf = scope.shelves.get(shelfKey);
    if (!shelf) {
      shelf = new VectorShelf(entry.vector.length);
      scope.shelves.set(shelfKey, shelf);
    }
    shelf.add(entry, entry.vector);
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
    return (this.scopes.get(tenantId + SEPARATOR + scopeHash)?.entries.size ?? 0) > 0;
  }

  /**
   * The live entry of a scope whose vector (from the same embedder) is nearest to `vector` by cosine
   * similarity, among those created at or after `notBefore` and at least `minSimilarity` similar
   * (unset: however similar). The earliest stored wins a tie.
   */
  nearest(q: {
    tenantId: string;
    scopeHash: string;
    embedder: string;
    vector: Float32Array;
    now: number;
    notBefore: number | null;
    minSimilarity?: number;
  }): NearestEntry | null {
    const shelf = this.scopes
      .get(q.tenantId + SEPARATOR + q.scopeHash)
      ?.shelves.get(shelfKeyOf(q.embedder, q.vector.length));
    if (!shelf) return null;
    const { now, notBefore } = q;
    const found = shelf.nearest(
      q.vector,
      q.minSimilarity ?? Number.NEGATIVE_INFINITY,
      (e) => e.expiresAt > now && (notBefore === null || e.createdAt >= notBefore),
    );
    return found === null ? null : { entry: found.owner, similarity: found.similarity };
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
    if (!scope?.entries.delete(entry)) return;
    if (entry.embedder !== null && entry.vector !== null) {
      const shelfKey = shelfKeyOf(entry.embedder, entry.vector.length);
      const shelf = scope.shelves.get(shelfKey);
      shelf?.remove(entry);
      if (shelf && shelf.size === 0) scope.shelves.delete(shelfKey);
    }
    if (scope.entries.size === 0) this.scopes.delete(scopeKey);
  }
}

function shelfKeyOf(embedder: string, dimensions: number): string {
  return embedder + SEPARATOR + dimensions;
}
