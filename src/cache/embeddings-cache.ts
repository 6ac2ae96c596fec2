import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** An embeddings answer kept for its exact repeat: the upstream's JSON text as the client got it. */
export interface CachedEmbeddings {
  /** The response body, byte for byte as first sent (floats or base64, as that request asked). */
  body: string;
  provider: string;
  upstreamModel: string;
  /** Input tokens the upstream billed for it: what a repeat saves. */
  totalTokens: number | null;
  /** Wall-clock time (ms) it was stored. */
  createdAt: number;
}

/** The exact-repeat cache of `/v1/embeddings`, per tenant, in this process's memory. */
export interface EmbeddingsCache {
  readonly enabled: boolean;
  get(key: string, maxAgeMs: number | null, now: number): CachedEmbeddings | undefined;
  set(key: string, entry: CachedEmbeddings): void;
  /** Forgets one tenant's entries (a cache flush or a forgotten tenant), or all of them. */
  clear(tenantId?: string): void;
}

/**
 * The key of an embeddings request: the tenant and every field of the body but `user` (who asked
 * does not change a vector), canonicalised so field order does not matter. A SHA-256, so the key
 * holds no input text.
 */
export function embeddingsCacheKey(tenantId: string, body: Record<string, unknown>): string {
  const { user: _user, ...rest } = body;
  const fields = Object.keys(rest)
    .sort()
    .map((name) => [name, rest[name]]);
  const digest = createHash('sha256').update(JSON.stringify(fields)).digest('base64url');
  return `${tenantId}\u0000${digest}`;
}

/**
 * An LRU bounded by the bytes it holds (`maxBytes`) and by age (`ttlMs`). Vectors are large
 * (a 1,536-dimension answer is ~33 kB of JSON), so the bound is on size, not count.
 */
export function createEmbeddingsCache(options: {
  maxBytes: number;
  ttlMs: number;
}): EmbeddingsCache {
  const entries = new LRUCache<string, CachedEmbeddings>({
    maxSize: options.maxBytes,
    // UTF-16 in memory, plus the key and the entry's own fields.
    sizeCalculation: (entry, key) => (entry.body.length + key.length) * 2 + 128,
  });
  return {
    enabled: true,
    get(key, maxAgeMs, now) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      const age = now - entry.createdAt;
      if (age > options.ttlMs) {
        entries.delete(key);
        return undefined;
      }
      return maxAgeMs !== null && age > maxAgeMs ? undefined : entry;
    },
    set(key, entry) {
      if ((entry.body.length + key.length) * 2 + 128 <= options.maxBytes) entries.set(key, entry);
    },
    clear(tenantId) {
      if (tenantId === undefined) return entries.clear();
      const prefix = `${tenantId}\u0000`;
      for (const key of [...entries.keys()]) if (key.startsWith(prefix)) entries.delete(key);
    },
  };
}

/** The cache when CACHE=off: never holds anything. */
export const noEmbeddingsCache: EmbeddingsCache = {
  enabled: false,
  get: () => undefined,
  set: () => {},
  clear: () => {},
};
