/** The response cache's settings. */
export interface CacheConfig {
  enabled: boolean;
  /** An entry's lifetime: `CACHE_TTL_S`, or the shorter retention of stored text. */
  ttlMs: number;
  /**
   * Minimum cosine similarity for a semantic hit (the guards must pass too); unset = the
   * embedder's own measured default.
   */
  semanticThreshold: number | undefined;
  maxEntriesPerTenant: number;
  /** Bound of the in-memory index, in bytes of the entries it holds. */
  memoryBytes: number;
}
