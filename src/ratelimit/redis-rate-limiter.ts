import { type Redis, ReplyError } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { withTimeout } from '../runtime/with-timeout.js';
import { type LimitStore, UnansweredStoreError } from './limit-store.js';
import { COUNTER_TTL_S } from './limit-window.js';
import type {
  BackendErrorEvent,
  FailPolicy,
  RateLimiter,
  RateLimiterLogger,
} from './rate-limiter.js';
import { WindowedRateLimiter } from './windowed-rate-limiter.js';

/** How long one Redis operation may take before the fail policy applies. */
export const DEFAULT_REDIS_TIMEOUT_MS = 250;

/** Where the limiter's keys live in Redis unless told otherwise. */
export const DEFAULT_REDIS_KEY_PREFIX = 'tollgate:rl';

/**
 * Takes a concurrency slot atomically: drop expired leases (scores are expiry times from the
 * limiter's clock), refuse if `max` remain, else add this lease. The key's own TTL only cleans up
 * idle sets; it is twice the lease so it never drops a live slot.
 * KEYS[1] lease set · ARGV: now, expiresAt, max, leaseId, keyTtlMs.
 */
const ACQUIRE_LEASE_LUA = `
redis.call('zremrangebyscore', KEYS[1], '-inf', ARGV[1])
if redis.call('zcard', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('zadd', KEYS[1], ARGV[2], ARGV[4])
redis.call('pexpire', KEYS[1], ARGV[5])
return 1
`;

/** Options for {@link RedisLimitStore}. */
export interface RedisLimitStoreOptions {
  client: Redis;
  keyPrefix: string;
  timeoutMs: number;
  /** Quit the client on close (when the factory created it). */
  ownsClient: boolean;
}

/**
 * Counters and leases in Redis, shared by every gateway process that uses the same prefix.
 *
 * Counters use rate-limiter-flexible's RateLimiterRedis (an atomic INCRBY-with-TTL Lua script).
 * As in the memory store, one instance with an unreachable `points` is a counter for every key and
 * the limiter compares totals with each subject's own limits, so a limit change keeps the count and
 * every process shares it. Concurrency uses a sorted set per key (lease id → expiry) because a
 * counter cannot forget the slot of a process that crashed without releasing it.
 *
 * Every operation fails fast when the client is not connected and is raced against `timeoutMs`.
 * A timeout does not take a command back: Redis runs it whenever it reads it, so an operation that
 * timed out on a live connection rejects with {@link UnansweredStoreError}, and what is sent next
 * on that connection runs after it.
 */
export class RedisLimitStore implements LimitStore {
  readonly #client: Redis;
  readonly #counters: RateLimiterRedis;
  readonly #keyPrefix: string;
  readonly #timeoutMs: number;
  readonly #ownsClient: boolean;

  constructor(options: RedisLimitStoreOptions) {
    this.#client = options.client;
    this.#keyPrefix = options.keyPrefix;
    this.#timeoutMs = options.timeoutMs;
    this.#ownsClient = options.ownsClient;
    this.#counters = new RateLimiterRedis({
      storeClient: options.client,
      points: Number.MAX_SAFE_INTEGER,
      duration: COUNTER_TTL_S,
      keyPrefix: options.keyPrefix,
      rejectIfRedisNotReady: true,
    });
  }

  async add(key: string, points: number): Promise<number> {
    const op =
      points >= 0 ? this.#counters.consume(key, points) : this.#counters.reward(key, -points);
    try {
      const res = await withTimeout(
        op,
        this.#timeoutMs,
        'rate limiter backend: counter update did not answer',
      );
      return res.consumedPoints;
    } catch (err) {
      throw this.#unansweredOr(err);
    }
  }

  async acquireLease(
    key: string,
    leaseId: string,
    max: number,
    nowMs: number,
    leaseMs: number,
  ): Promise<boolean> {
    this.#assertReady();
    const op = this.#client.eval(
      ACQUIRE_LEASE_LUA,
      1,
      this.#redisKey(key),
      nowMs,
      nowMs + leaseMs,
      max,
      leaseId,
      2 * leaseMs,
    );
    try {
      const reply = await withTimeout(
        op,
        this.#timeoutMs,
        'rate limiter backend: lease acquire did not answer',
      );
      return reply === 1;
    } catch (err) {
      throw this.#unansweredOr(err);
    }
  }

  async releaseLease(key: string, leaseId: string): Promise<void> {
    this.#assertReady();
    const op = this.#client.zrem(this.#redisKey(key), leaseId);
    try {
      await withTimeout(op, this.#timeoutMs, 'rate limiter backend: lease release did not answer');
    } catch (err) {
      throw this.#unansweredOr(err);
    }
  }

  async close(): Promise<void> {
    if (!this.#ownsClient) return;
    try {
      await withTimeout(
        this.#client.quit(),
        this.#timeoutMs,
        'rate limiter backend: quit did not answer',
      );
    } catch {
      // Already gone or unreachable: disconnect below stops reconnecting either way.
    }
    this.#client.disconnect();
  }

  #redisKey(key: string): string {
    return `${this.#keyPrefix}:${key}`;
  }

  /**
   * A failed command's error, as an {@link UnansweredStoreError} when it may still run: Redis has
   * not replied (a timeout) and the connection is still up. An error reply means it did not run;
   * after a lost connection nothing sent now could follow it on the same connection.
   */
  #unansweredOr(err: unknown): unknown {
    const unanswered = !(err instanceof ReplyError) && this.#client.status === 'ready';
    return unanswered ? new UnansweredStoreError(err) : err;
  }

  /** Fail at once rather than sit in a client's offline queue until the timeout. */
  #assertReady(): void {
    if (this.#client.status !== 'ready') {
      throw new Error(`Redis connection is not ready (status: ${this.#client.status})`);
    }
  }
}

/** Options for {@link createRedisRateLimiter}. */
export interface RedisRateLimiterOptions {
  /** An ioredis client; best created with `createLimiterRedisClient` for bounded commands. */
  client: Redis;
  /** Quit the client on `close()`; default false (the caller owns it). */
  ownsClient?: boolean | undefined;
  /** Prefix of every key; processes sharing limits must share it. Default `tollgate:rl`. */
  keyPrefix?: string | undefined;
  /** Time budget of each Redis operation; default 250 ms. */
  timeoutMs?: number | undefined;
  /** Default `fail-open`. */
  failPolicy?: FailPolicy | undefined;
  /** Decides windows and lease expiry; defaults to `Date.now`. */
  clock?: (() => number) | undefined;
  /** How long an unreleased concurrency slot lives; defaults to 5 minutes. */
  leaseMs?: number | undefined;
  logger: RateLimiterLogger;
  /** Called for every failed or timed-out Redis operation (wire it to a metric). */
  onBackendError?: ((event: BackendErrorEvent) => void) | undefined;
}

/** A rate limiter whose limits are shared exactly by every process using the same Redis and prefix. */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
  const store = new RedisLimitStore({
    client: options.client,
    keyPrefix: options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX,
    timeoutMs: options.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS,
    ownsClient: options.ownsClient ?? false,
  });
  return new WindowedRateLimiter({
    store,
    clock: options.clock ?? Date.now,
    failPolicy: options.failPolicy ?? 'fail-open',
    logger: options.logger,
    leaseMs: options.leaseMs,
    onBackendError: options.onBackendError,
  });
}
