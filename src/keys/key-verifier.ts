import { LRUCache } from 'lru-cache';
import type { Clock } from '../runtime/clock.js';
import { withTimeout } from '../runtime/with-timeout.js';
import type { Database } from '../storage/database.js';
import type { ApiKeyWithTenant } from '../storage/queries/api-keys.js';
import { findApiKeyWithTenant, touchApiKeys } from '../storage/queries/api-keys.js';
import { parseApiKey, secretMatches } from './api-key-format.js';

/** The facts about a verified key that the pipeline needs; never the secret or its hash. */
export interface VerifiedKey {
  id: string;
  publicId: string;
  tenantId: string;
  name: string;
  scopes: readonly string[];
  rpm: number | null;
  tpm: number | null;
  maxConcurrency: number | null;
  /** null = every model; [] = none. */
  allowedModels: readonly string[] | null;
  /** The key's default compression mode, or null for the gateway default. */
  compression: string | null;
  /** The tenant's own limits, applied on top of the key's. */
  tenantLimits: { rpm: number | null; tpm: number | null; maxConcurrency: number | null };
  /** false when an administrator turned the response cache off for this key. */
  cacheEnabled: boolean;
}

/** Why a presented key was refused. */
export type KeyRejection = 'malformed' | 'unknown' | 'wrong_secret' | 'revoked' | 'expired';

/** The outcome of verifying a presented key: a value, not an exception. */
export type KeyCheck = { ok: true; key: VerifiedKey } | { ok: false; reason: KeyRejection };

/** Raised when a key cannot be checked because the database does not answer. */
export class KeyStoreUnavailable extends Error {
  constructor(cause: unknown) {
    super('the key store is unavailable', { cause });
    this.name = 'KeyStoreUnavailable';
  }
}

const LOOKUP_TIMEOUT_MS = 1_000;
const DOWN_BACKOFF_MS = 1_000;

interface CacheEntry {
  row: ApiKeyWithTenant | null;
  fetchedAt: number;
}

/**
 * Tells every gateway instance that a key changed, so each drops its cached copy at once; the
 * key cache TTL bounds the delay without one.
 */
export interface KeyChangeBus {
  publish(publicId: string): void;
  /** Calls `onChange` for every change any instance published; settles once listening. */
  subscribe(onChange: (publicId: string) => void): Promise<void>;
}

/** Verifies presented API keys against the database through a short-lived in-process cache. */
export interface KeyVerifier {
  verify(presented: string): Promise<KeyCheck>;
  /** Drops a cached key so the next request reads it fresh (after an admin change here). */
  invalidate(publicId: string): void;
  /** Writes pending last_used_at updates. */
  flushUsage(): Promise<void>;
}

/**
 * A cache of key rows by public id. An entry younger than half the TTL is used as is; an older one
 * is used while a refresh runs in the background; one past the TTL is re-read before answering, so
 * a revocation anywhere takes effect within the TTL (at most 5 s) without a database round-trip on
 * the hot path of a busy key. Unknown ids are cached too (apart, so that they never push out a
 * key in use), and guessing the same id again costs no query.
 *
 * While the database does not answer, a key read less than `staleWindowMs` ago keeps working; past
 * that it is refused (KeyStoreUnavailable, a 503) until it can be read again, so a key revoked on
 * another instance during a partition works here for at most that window. With a `bus`, a change
 * made on any instance drops the key from every instance's cache at once.
 */
export function createKeyVerifier(options: {
  db: Database;
  clock: Clock;
  ttlMs: number;
  staleWindowMs: number;
  bus?: KeyChangeBus;
  maxEntries?: number;
  onError?: (err: unknown) => void;
}): KeyVerifier {
  const { db, clock, ttlMs, staleWindowMs } = options;
  const maxEntries = options.maxEntries ?? 10_000;
  const cache = new LRUCache<string, CacheEntry>({ max: maxEntries });
  // Ids that name no key, in a cache of their own: a client sending random ids evicts only those,
  // never the keys in use (each of which would then cost a database read again).
  const unknownIds = new LRUCache<string, CacheEntry>({ max: maxEntries });
  const inFlight = new Map<string, Promise<CacheEntry>>();
  const used = new Set<string>();

  function load(publicId: string): Promise<CacheEntry> {
    const running = inFlight.get(publicId);
    if (running) return running;
    const p: Promise<CacheEntry> = findApiKeyWithTenant(db, publicId)
      .then((row) => {
        const entry = { row: row ?? null, fetchedAt: clock.now() };
        // Invalidated while it ran, the lookup may have read the key before the change: it still
        // answers the requests that were waiting on it, but is not kept for the ones after.
        if (inFlight.get(publicId) !== p) return entry;
        if (entry.row) {
          cache.set(publicId, entry);
          unknownIds.delete(publicId);
        } else {
          unknownIds.set(publicId, entry);
          cache.delete(publicId);
        }
        return entry;
      })
      .finally(() => {
        if (inFlight.get(publicId) === p) inFlight.delete(publicId);
      });
    inFlight.set(publicId, p);
    return p;
  }

  let databaseDownUntil = 0;

  function refreshInBackground(publicId: string): void {
    if (inFlight.has(publicId)) return;
    load(publicId).catch((err: unknown) => {
      const newlyDown = clock.now() >= databaseDownUntil;
      databaseDownUntil = clock.now() + DOWN_BACKOFF_MS;
      if (newlyDown) options.onError?.(err);
    });
  }

  async function entryFor(publicId: string): Promise<CacheEntry> {
    const cached = cache.get(publicId) ?? unknownIds.get(publicId);
    if (!cached) {
      try {
        return await withTimeout(load(publicId), LOOKUP_TIMEOUT_MS, 'key lookup timed out');
      } catch (err) {
        databaseDownUntil = clock.now() + DOWN_BACKOFF_MS;
        throw new KeyStoreUnavailable(err);
      }
    }
    const age = clock.now() - cached.fetchedAt;
    if (age < ttlMs / 2) return cached;
    if (age < ttlMs) {
      refreshInBackground(publicId);
      return cached;
    }
    // While the database is known to be down, a key read within the stale window keeps working
    // (availability over a revocation this instance cannot see); the refresh keeps trying.
    if (clock.now() < databaseDownUntil) {
      refreshInBackground(publicId);
      return staleOrRefused(cached, age, new Error('the database is down'));
    }
    try {
      return await withTimeout(load(publicId), LOOKUP_TIMEOUT_MS, 'key lookup timed out');
    } catch (err) {
      // Requests waiting on one lookup time out together: the first reports the outage.
      const newlyDown = clock.now() >= databaseDownUntil;
      databaseDownUntil = clock.now() + DOWN_BACKOFF_MS;
      if (newlyDown) options.onError?.(err);
      return staleOrRefused(cached, age, err);
    }
  }

  function staleOrRefused(cached: CacheEntry, age: number, cause: unknown): CacheEntry {
    if (age < staleWindowMs) return cached;
    throw new KeyStoreUnavailable(cause);
  }

  const forget = (publicId: string) => {
    cache.delete(publicId);
    unknownIds.delete(publicId);
    // A request after the change must not wait on a lookup that began before it.
    inFlight.delete(publicId);
  };

  void options.bus?.subscribe(forget);

  return {
    async verify(presented) {
      const parsed = parseApiKey(presented);
      if (!parsed) return { ok: false, reason: 'malformed' };
      const { row: found } = await entryFor(parsed.publicId);
      if (!found) return { ok: false, reason: 'unknown' };
      const row = found.key;
      if (!secretMatches(parsed.secret, row.secretHash))
        return { ok: false, reason: 'wrong_secret' };
      const now = clock.now();
      if (row.revokedAt && row.revokedAt.getTime() <= now) return { ok: false, reason: 'revoked' };
      // A forgotten tenant's keys are revoked with it; one created in the same moment is too.
      if (found.tenantForgottenAt) return { ok: false, reason: 'revoked' };
      if (row.expiresAt && row.expiresAt.getTime() <= now) return { ok: false, reason: 'expired' };
      used.add(row.id);
      return {
        ok: true,
        key: {
          id: row.id,
          publicId: row.publicId,
          tenantId: row.tenantId,
          name: row.name,
          scopes: row.scopes,
          rpm: row.rpm,
          tpm: row.tpm,
          maxConcurrency: row.maxConcurrency,
          allowedModels: row.allowedModels,
          tenantLimits: found.tenantLimits,
          compression: row.compression,
          cacheEnabled: row.cacheEnabled !== false,
        },
      };
    },
    invalidate(publicId) {
      forget(publicId);
      options.bus?.publish(publicId);
    },
    async flushUsage() {
      if (used.size === 0) return;
      const ids = [...used];
      used.clear();
      await touchApiKeys(db, ids, new Date(clock.now()));
    },
  };
}
