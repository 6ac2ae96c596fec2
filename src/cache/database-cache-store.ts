import type { ChatCompletion } from 'openai/resources/chat/completions';
import { decryptRowField, encryptRowField } from '../crypto/envelope.js';
import type { TenantKeys } from '../crypto/tenant-keys.js';
import type { Background } from '../runtime/background.js';
import type { Clock } from '../runtime/clock.js';
import { errorReason } from '../runtime/error-reason.js';
import type { Logger } from '../runtime/logger.js';
import { uuidv7 } from '../runtime/uuidv7.js';
import { withTimeout } from '../runtime/with-timeout.js';
import type { Database } from '../storage/database.js';
import {
  countTenantCacheEntries,
  deleteExpiredCacheEntries,
  deleteTenantCacheEntries,
  evictCacheEntriesOverCap,
  findCacheEntryByExact,
  findNearestCacheEntry,
  recordCacheHits,
  setCacheEntryEmbedding,
  upsertCacheEntry,
} from '../storage/queries/cache-entries.js';
import type { CacheConfig } from './cache-config.js';
import type { CacheHit, CacheLookup, CacheStore, CacheWrite } from './cache-store.js';
import type { Embedder } from './embedders/embedder.js';
import { entryBytes, MemoryTier } from './memory-tier.js';
import { decideSemanticHit } from './semantic-decision.js';

const RESPONSE_FIELD = 'cache.response';
const QUESTION_FIELD = 'cache.question';

/** A database step of a lookup may cost a request at most this long; then it is a miss. */
const LOOKUP_TIMEOUT_MS = 250;
/** A background store or maintenance step gives up after this long. */
const WRITE_TIMEOUT_MS = 2_000;
/** After a failure the database is left alone this long: requests go on without the cache. */
const DOWN_BACKOFF_MS = 1_000;

interface PendingHits {
  tenantId: string;
  exactHash: string;
  count: number;
  lastHitAt: number;
}

/**
 * The real cache: memory tier → database exact → semantic (pgvector, same scope, threshold and
 * guards). Entries are encrypted under the tenant's data key with the exact hash as the row
 * binding, so a ciphertext cannot be replayed under another key or tenant.
 */
export function createDatabaseCacheStore(deps: {
  db: Database;
  tenantKeys: TenantKeys;
  embedder: Embedder;
  clock: Clock;
  logger: Logger;
  background: Background;
  /** pgvector and the embedding column are present. */
  semantic: boolean;
  config: CacheConfig;
}): CacheStore {
  const { db, clock, config } = deps;
  const memory = new MemoryTier(config.memoryBytes);
  // An embedder that calls out has its own timeout; the budget must not blame the database for it.
  const lookupTimeoutMs = LOOKUP_TIMEOUT_MS + (deps.embedder.id.startsWith('local-') ? 0 : 2_000);
  // Hits served from memory are counted here and written by `maintain`, off the hot path.
  const pendingHits = new Map<string, PendingHits>();
  // Entries per tenant as last counted plus stores since (an upper bound: a store may replace an
  // entry), so the cap costs a sorted delete only when a tenant may be over it.
  const entryCounts = new Map<string, number>();

  async function enforceCap(tenantId: string, inserted: boolean): Promise<void> {
    const known = entryCounts.get(tenantId);
    // Replacing an entry (same question again) does not change the count.
    let count =
      known === undefined
        ? await countTenantCacheEntries(db, tenantId)
        : known + (inserted ? 1 : 0);
    if (count > config.maxEntriesPerTenant) {
      // Hits served from memory decide what is least recently used: write them first.
      await flushHits();
      const evicted = await evictCacheEntriesOverCap(db, tenantId, config.maxEntriesPerTenant);
      for (const exactHash of evicted) memory.delete(tenantId, exactHash);
      count = await countTenantCacheEntries(db, tenantId);
    }
    entryCounts.set(tenantId, count);
  }

  // The cache is an optimisation: while the database fails or hangs, requests skip it instead of
  // waiting on it, and only one request per backoff window probes whether it is back.
  let downUntil = 0;
  const isDown = () => clock.monotonic() < downUntil;
  function guarded<T>(work: () => Promise<T>, ms: number, what: string): Promise<T> {
    return withTimeout(work(), ms, what).catch((err: unknown) => {
      if (!isDown()) {
        deps.logger.warn(
          { reason: errorReason(err) },
          'cache database step failed; serving without the cache for a moment',
        );
      }
      downUntil = clock.monotonic() + DOWN_BACKOFF_MS;
      throw err;
    });
  }

  const binding = (tenantId: string, exactHash: string, field: string) => ({
    rowId: exactHash,
    tenantId,
    field,
  });

  function countHit(tenantId: string, exactHash: string, at: number): void {
    const id = `${tenantId}\n${exactHash}`;
    const pending = pendingHits.get(id);
    if (pending) {
      pending.count++;
      pending.lastHitAt = at;
    } else pendingHits.set(id, { tenantId, exactHash, count: 1, lastHitAt: at });
  }

  async function flushHits(): Promise<void> {
    const batch = [...pendingHits.values()];
    pendingHits.clear();
    for (const p of batch) {
      await recordCacheHits(db, p.tenantId, p.exactHash, p.count, new Date(p.lastHitAt));
    }
  }

  async function embed(text: string, signal?: AbortSignal): Promise<Float32Array | null> {
    try {
      const [vector] = await deps.embedder.embed([text], signal);
      return vector ?? null;
    } catch (err) {
      deps.logger.warn(
        { reason: errorReason(err) },
        'embedding failed; semantic cache skipped for this request',
      );
      return null;
    }
  }

  async function open(
    dataKey: Buffer,
    tenantId: string,
    exactHash: string,
    sealed: Buffer,
    field: string,
  ): Promise<unknown> {
    return decryptRowField(dataKey, sealed, binding(tenantId, exactHash, field));
  }

  async function lookup(
    q: CacheLookup,
  ): Promise<{ hit: CacheHit | null; embedding: Float32Array | null }> {
    const { tenantId, keys } = q;
    const now = clock.now();
    const notBefore = q.maxAgeMs === null ? null : now - q.maxAgeMs;
    const fresh = (createdAt: number) => notBefore === null || createdAt >= notBefore;

    const inMemory = memory.get(tenantId, keys.exactHash);
    let exactChecked = false;
    if (inMemory && inMemory.expiresAt > now) {
      exactChecked = true;
      if (fresh(inMemory.createdAt)) {
        countHit(tenantId, keys.exactHash, now);
        return {
          hit: {
            kind: 'hit',
            completion: inMemory.completion,
            similarity: 1,
            createdAt: inMemory.createdAt,
          },
          embedding: null,
        };
      }
    } else if (inMemory) memory.delete(tenantId, keys.exactHash);

    if (isDown()) return { hit: null, embedding: null };
    return guarded(
      () => lookupInDatabase(q, now, notBefore, exactChecked),
      lookupTimeoutMs,
      'cache lookup timed out',
    ).catch(() => ({ hit: null, embedding: null }));
  }

  async function lookupInDatabase(
    q: CacheLookup,
    now: number,
    notBefore: number | null,
    exactChecked: boolean,
  ): Promise<{ hit: CacheHit | null; embedding: Float32Array | null }> {
    const { tenantId, keys } = q;
    const fresh = (createdAt: number) => notBefore === null || createdAt >= notBefore;
    const dataKey = await deps.tenantKeys.forEncryption(tenantId);
    if (!dataKey) return { hit: null, embedding: null };

    if (!exactChecked) {
      const row = await findCacheEntryByExact(db, tenantId, keys.exactHash, new Date(now));
      if (row) {
        const completion = (await open(
          dataKey,
          tenantId,
          keys.exactHash,
          row.responseEnc,
          RESPONSE_FIELD,
        ).catch(() => null)) as ChatCompletion | null;
        if (completion) {
          const createdAt = row.createdAt.getTime();
          memory.set(tenantId, keys.exactHash, {
            completion,
            createdAt,
            expiresAt: row.expiresAt.getTime(),
            bytes: entryBytes(JSON.stringify(completion)),
          });
          if (fresh(createdAt)) {
            countHit(tenantId, keys.exactHash, now);
            return { hit: { kind: 'hit', completion, similarity: 1, createdAt }, embedding: null };
          }
        }
      }
    }

    if (!deps.semantic || keys.semanticText === null) return { hit: null, embedding: null };
    const query = keys.semanticText;
    const embedding = await embed(query, q.signal);
    if (!embedding) return { hit: null, embedding: null };
    const nearest = await findNearestCacheEntry(db, {
      tenantId,
      scopeHash: keys.scopeHash,
      embedder: deps.embedder.id,
      vector: embedding,
      now: new Date(now),
      notBefore: notBefore === null ? null : new Date(notBefore),
    });
    if (!nearest?.questionEnc) return { hit: null, embedding };
    const candidate = await open(
      dataKey,
      tenantId,
      nearest.exactHash,
      nearest.questionEnc,
      QUESTION_FIELD,
    ).catch(() => null);
    if (typeof candidate !== 'string') return { hit: null, embedding };
    const decision = decideSemanticHit({
      query,
      candidate,
      similarity: nearest.similarity,
      threshold: config.semanticThreshold,
    });
    if (!decision.hit) {
      deps.logger.debug(
        { similarity: nearest.similarity, reason: decision.reason },
        'semantic cache candidate refused',
      );
      return { hit: null, embedding };
    }
    const completion = (await open(
      dataKey,
      tenantId,
      nearest.exactHash,
      nearest.responseEnc,
      RESPONSE_FIELD,
    ).catch(() => null)) as ChatCompletion | null;
    if (!completion) return { hit: null, embedding };
    countHit(tenantId, nearest.exactHash, now);
    return {
      hit: {
        kind: 'semantic-hit',
        completion,
        similarity: nearest.similarity,
        createdAt: nearest.createdAt.getTime(),
      },
      embedding,
    };
  }

  return {
    enabled: true,
    semantic: deps.semantic,
    lookup,
    async store(w) {
      if (isDown()) return;
      await guarded(() => storeEntry(w), WRITE_TIMEOUT_MS, 'cache store timed out').catch(() => {});
    },
    async flushTenant(tenantId) {
      memory.deleteTenant(tenantId);
      entryCounts.delete(tenantId);
      for (const [id, p] of pendingHits) if (p.tenantId === tenantId) pendingHits.delete(id);
      return deleteTenantCacheEntries(db, tenantId);
    },
    async maintain() {
      if (isDown()) return 0;
      return guarded(
        async () => {
          await flushHits();
          entryCounts.clear();
          return deleteExpiredCacheEntries(db, new Date(clock.now()));
        },
        WRITE_TIMEOUT_MS,
        'cache maintenance timed out',
      ).catch(() => 0);
    },
    async close() {
      if (isDown()) return;
      await guarded(flushHits, WRITE_TIMEOUT_MS, 'cache hit counts not written').catch(() => {});
    },
  };

  async function storeEntry(w: CacheWrite): Promise<void> {
    const dataKey = await deps.tenantKeys.forEncryption(w.tenantId);
    if (!dataKey) return;
    const { keys } = w;
    const now = clock.now();
    const embedding =
      deps.semantic && keys.semanticText !== null
        ? (w.embedding ?? (await embed(keys.semanticText)))
        : null;
    const json = JSON.stringify(w.completion);
    const responseEnc = await encryptRowField(
      dataKey,
      w.completion,
      binding(w.tenantId, keys.exactHash, RESPONSE_FIELD),
    );
    const questionEnc =
      keys.semanticText === null
        ? null
        : await encryptRowField(
            dataKey,
            keys.semanticText,
            binding(w.tenantId, keys.exactHash, QUESTION_FIELD),
          );
    const id = uuidv7(now);
    const expiresAt = now + config.ttlMs;
    const inserted = await upsertCacheEntry(db, {
      id,
      tenantId: w.tenantId,
      scopeHash: keys.scopeHash,
      exactHash: keys.exactHash,
      embedder: embedding ? deps.embedder.id : null,
      responseEnc,
      questionEnc,
      createdAt: new Date(now),
      expiresAt: new Date(expiresAt),
      size: responseEnc.length + (questionEnc?.length ?? 0),
    });
    if (deps.semantic) await setCacheEntryEmbedding(db, id, embedding);
    memory.set(w.tenantId, keys.exactHash, {
      completion: w.completion,
      createdAt: now,
      expiresAt,
      bytes: entryBytes(json),
    });
    await enforceCap(w.tenantId, inserted);
  }
}
