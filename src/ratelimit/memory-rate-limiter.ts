import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { LimitStore } from './limit-store.js';
import { COUNTER_TTL_S } from './limit-window.js';
import type { BackendErrorEvent, RateLimiter, RateLimiterLogger } from './rate-limiter.js';
import { WindowedRateLimiter } from './windowed-rate-limiter.js';

/**
 * Counters in one process, on rate-limiter-flexible's RateLimiterMemory.
 *
 * rate-limiter-flexible's `points` is fixed per limiter instance, while every API key here brings
 * its own limits. Rather than one instance per distinct limit (which would also restart counts when
 * a key's limit changes), one instance with an unreachable `points` serves as an atomic windowed
 * counter for all keys, and the limiter compares the total it returns with the subject's limit.
 * Nothing is created per request. Concurrency leases are a map of lease id → expiry per key.
 */
export class MemoryLimitStore implements LimitStore {
  readonly #counters = new RateLimiterMemory({
    points: Number.MAX_SAFE_INTEGER,
    duration: COUNTER_TTL_S,
    keyPrefix: '',
  });
  readonly #leases = new Map<string, Map<string, number>>();

  async add(key: string, points: number): Promise<number> {
    const res =
      points >= 0
        ? await this.#counters.consume(key, points)
        : await this.#counters.reward(key, -points);
    return res.consumedPoints;
  }

  async acquireLease(
    key: string,
    leaseId: string,
    max: number,
    nowMs: number,
    leaseMs: number,
  ): Promise<boolean> {
    const held = this.#leases.get(key) ?? new Map<string, number>();
    if (held.size >= max) {
      for (const [id, expiresAtMs] of held) if (expiresAtMs <= nowMs) held.delete(id);
    }
    if (held.size >= max) {
      if (held.size === 0) this.#leases.delete(key);
      return false;
    }
    held.set(leaseId, nowMs + leaseMs);
    this.#leases.set(key, held);
    return true;
  }

  async releaseLease(key: string, leaseId: string): Promise<void> {
    const held = this.#leases.get(key);
    if (!held) return;
    held.delete(leaseId);
    if (held.size === 0) this.#leases.delete(key);
  }

  async close(): Promise<void> {
    this.#leases.clear();
  }
}

/** Options for {@link createMemoryRateLimiter}. */
export interface MemoryRateLimiterOptions {
  /** Decides windows and lease expiry; defaults to `Date.now`. */
  clock?: (() => number) | undefined;
  /** How long an unreleased concurrency slot lives; defaults to 5 minutes. */
  leaseMs?: number | undefined;
  logger?: RateLimiterLogger | undefined;
  onBackendError?: ((event: BackendErrorEvent) => void) | undefined;
}

const SILENT_LOGGER: RateLimiterLogger = { warn: () => {} };

/** A rate limiter for a single gateway process (limits are not shared with other processes). */
export function createMemoryRateLimiter(options: MemoryRateLimiterOptions = {}): RateLimiter {
  return new WindowedRateLimiter({
    store: new MemoryLimitStore(),
    clock: options.clock ?? Date.now,
    // Memory cannot fail; the policy only exists to satisfy the shared limiter.
    failPolicy: 'fail-open',
    logger: options.logger ?? SILENT_LOGGER,
    leaseMs: options.leaseMs,
    onBackendError: options.onBackendError,
  });
}
