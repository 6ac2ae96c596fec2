import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { CacheKeys } from './scope.js';

/** A cached answer found for a request. */
export interface CacheHit {
  /** `hit` for the same question in the same scope, `semantic-hit` for a close paraphrase. */
  kind: 'hit' | 'semantic-hit';
  /** The answer as the upstream gave it the first time. */
  completion: ChatCompletion;
  /** `completion` as JSON: the text a chat completion hit sends as it is. */
  completionJson: string;
  /** Cosine similarity of the two questions; 1 for an exact hit. */
  similarity: number;
  /** Wall-clock time (ms) the entry was stored. */
  createdAt: number;
  /** The configured upstream that gave the answer; null for an entry stored before it was kept. */
  provider: string | null;
}

/** One request's cache question. */
export interface CacheLookup {
  tenantId: string;
  keys: CacheKeys;
  /** Accept only entries at most this old (request `max-age`); null = any live entry. */
  maxAgeMs: number | null;
  /**
   * The client's abort signal, asked for only when the lookup embeds (it costs an AbortController,
   * which an exact hit never needs). A function, not a getter: V8 keeps an object literal's getter
   * in an accessor pair allocated in the old generation, which holds the getter's closure, and the
   * request it closes over, alive until a full collection.
   */
  clientSignal?: () => AbortSignal;
}

/**
 * The lookup's answer; what it read of the question on the way (its vector, its numbers) is kept
 * so the store need not read it again.
 */
export interface CacheLookupResult {
  hit: CacheHit | null;
  embedding: Float32Array | null;
  /** The question's numbers as the guards read them (`numbersKey`), when the lookup read them. */
  numbers?: string | undefined;
}

/** An answer to store. */
export interface CacheWrite {
  tenantId: string;
  keys: CacheKeys;
  completion: ChatCompletion;
  /** `completion` as JSON, when the response already serialised it (it is not serialised again). */
  completionJson?: string | undefined;
  /** The question's vector if the lookup already made it. */
  embedding: Float32Array | null;
  /** The question's numbers (`numbersKey`) if the lookup already read them. */
  numbers?: string | undefined;
  /** The configured upstream that gave the answer. */
  provider: string | null;
}

/**
 * The response cache: an in-memory index (exact keys and each scope's vectors) over a durable,
 * encrypted table written in batches. Entries never cross tenants or scopes.
 */
export interface CacheStore {
  /** False for the no-op store (CACHE=off). */
  readonly enabled: boolean;
  /** True when semantic matching is available. */
  readonly semantic: boolean;
  lookup(q: CacheLookup): Promise<CacheLookupResult>;
  store(w: CacheWrite): Promise<void>;
  /** Deletes every entry of a tenant, in memory and in the database; returns the rows deleted. */
  flushTenant(tenantId: string): Promise<number>;
  /** Writes what is queued, deletes expired entries; returns how many rows were deleted. */
  maintain(): Promise<number>;
  /** Writes the queued entries, evictions and hit counts to the database (the owner's timer). */
  flush(): Promise<void>;
  /**
   * Brings in entries other instances wrote since the last sync, and drops the tenants another
   * instance flushed (the owner's timer); returns those tenants, whose other per-process caches
   * the owner clears.
   */
  sync(): Promise<readonly string[]>;
  /** Writes what is still queued. */
  close(): Promise<void>;
}

/** The cache when it is turned off: never hits, stores nothing. */
export const noopCacheStore: CacheStore = {
  enabled: false,
  semantic: false,
  lookup: async () => ({ hit: null, embedding: null }),
  store: async () => {},
  flushTenant: async () => 0,
  maintain: async () => 0,
  flush: async () => {},
  sync: async () => [],
  close: async () => {},
};
