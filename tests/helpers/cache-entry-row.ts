import { uuidv7 } from '../../src/runtime/uuidv7.js';
import type { NewCacheEntry } from '../../src/storage/queries/cache-entries.js';

/**
 * A cache_entries row as the cache writes it: its tenant and exact key, a small sealed answer, no
 * question or vector, alive for a minute from `now`; `overrides` set any other field.
 */
export function cacheEntryRow(
  tenantId: string,
  exactHash: string,
  now: number,
  overrides: Partial<NewCacheEntry> = {},
): NewCacheEntry {
  return {
    id: uuidv7(),
    tenantId,
    scopeHash: 'scope',
    exactHash,
    embedder: 'e1',
    responseEnc: Buffer.from('sealed answer'),
    questionEnc: null,
    embeddingF32: null,
    embeddingSparse: null,
    createdAt: new Date(now),
    expiresAt: new Date(now + 60_000),
    size: 13,
    ...overrides,
  };
}
