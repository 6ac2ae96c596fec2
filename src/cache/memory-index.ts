import { LRUCache } from 'lru-cache';
import type { ChatCompletion } from 'openai/resources/chat/completions';

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
  /** Each scope's entries, with their vectors prepared for scanning. */
  private readonly scopes = new Map<string, Map<IndexedEntry, ScanVector | null>>();

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
      scope = new Map();
      this.scopes.set(scopeKey, scope);
    }
    scope.set(entry, entry.vector ? new ScanVector(entry.vector) : null);
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
   * The live entry of a scope whose vector (from the same embedder) is nearest to `vector` by cosine
   * similarity, among those created at or after `notBefore`.
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
    const queryNorm = Math.sqrt(dotProduct(q.vector, q.vector));
    if (queryNorm === 0) return null;
    let best: IndexedEntry | null = null;
    let bestDot = Number.NEGATIVE_INFINITY;
    let bestNorm = 1;
    for (const [entry, scan] of scope) {
      if (scan === null || entry.embedder !== q.embedder || scan.length !== q.vector.length)
        continue;
      if (entry.expiresAt <= q.now || (q.notBefore !== null && entry.createdAt < q.notBefore)) {
        continue;
      }
      if (scan.norm === 0) continue;
      const dot = scan.dot(q.vector);
      // Compare dot/norm without dividing for every entry: a/b > c/d ⇔ a·d > c·b for b, d > 0.
      if (best === null || dot * bestNorm > bestDot * scan.norm) {
        best = entry;
        bestDot = dot;
        bestNorm = scan.norm;
      }
    }
    if (best === null) return null;
    const similarity = Math.max(-1, Math.min(1, bestDot / (bestNorm * queryNorm)));
    return { entry: best, similarity };
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

function dotProduct(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/**
 * A stored vector prepared for scanning: its length computed once and, when most components are
 * zero (the local embedder hashes a few dozen features into 512 slots), only the others kept, so
 * a scan reads a few hundred contiguous bytes per entry instead of the whole vector.
 */
class ScanVector {
  readonly norm: number;
  readonly length: number;
  private readonly indices: Int32Array | null;
  private readonly values: Float32Array;

  constructor(vector: Float32Array) {
    this.norm = Math.sqrt(dotProduct(vector, vector));
    this.length = vector.length;
    let nonZero = 0;
    for (let i = 0; i < vector.length; i++) if (vector[i] !== 0) nonZero++;
    if (nonZero * 2 > vector.length) {
      this.indices = null;
      this.values = vector;
      return;
    }
    this.indices = new Int32Array(nonZero);
    this.values = new Float32Array(nonZero);
    for (let i = 0, k = 0; i < vector.length; i++) {
      if (vector[i] === 0) continue;
      this.indices[k] = i;
      this.values[k++] = vector[i];
    }
  }

  /** Dot product with a dense vector of the same length. */
  dot(query: Float32Array): number {
    const { indices, values } = this;
    if (indices === null) return dotProduct(values, query);
    let sum = 0;
    for (let k = 0; k < indices.length; k++) sum += values[k] * query[indices[k]];
    return sum;
  }
}
