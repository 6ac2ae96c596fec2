/** The response cache's settings. */
export interface CacheConfig {
  enabled: boolean;
  ttlMs: number;
  /** Minimum cosine similarity for a semantic hit (the guards must pass too). */
  semanticThreshold: number;
  maxEntriesPerTenant: number;
  /** Bound of the in-memory index, in bytes of the entries it holds. */
  memoryBytes: number;
}
