import { createLimiterRedisClient } from './limiter-redis-client.js';
import { createMemoryRateLimiter } from './memory-rate-limiter.js';
import { NoopRateLimiter } from './noop-rate-limiter.js';
import type {
  BackendErrorEvent,
  FailPolicy,
  RateLimiter,
  RateLimiterLogger,
} from './rate-limiter.js';
import { createRedisRateLimiter, DEFAULT_REDIS_TIMEOUT_MS } from './redis-rate-limiter.js';

/** Which limiter to build: one process (`memory`), shared (`redis`), or none at all. */
export type RateLimitBackend = 'memory' | 'redis' | 'none';

/** Options for {@link createRateLimiter}, as the gateway's config provides them. */
export interface CreateRateLimiterOptions {
  backend: RateLimitBackend;
  /** Required for `redis`. */
  redisUrl?: string | undefined;
  /** What to do when Redis fails or times out; default `fail-open`. */
  failPolicy?: FailPolicy | undefined;
  /** Budget of each Redis operation; default 250 ms. */
  timeoutMs?: number | undefined;
  /** How long an unreleased concurrency slot lives; default 5 minutes. */
  leaseMs?: number | undefined;
  /** Prefix of the Redis keys; default `tollgate:rl`. */
  keyPrefix?: string | undefined;
  clock: () => number;
  logger: RateLimiterLogger;
  /** Called for every failed or timed-out backend operation (wire it to a metric). */
  onBackendError?: ((event: BackendErrorEvent) => void) | undefined;
}

/**
 * Builds the configured rate limiter. For `redis` it creates (and on `close()` quits) its own
 * ioredis client, which connects in the background: until it is ready, admits follow the fail
 * policy. Throws only on a configuration error (`redis` without `redisUrl`).
 */
export function createRateLimiter(options: CreateRateLimiterOptions): RateLimiter {
  switch (options.backend) {
    case 'none':
      return new NoopRateLimiter();
    case 'memory':
      return createMemoryRateLimiter(options);
    case 'redis': {
      if (!options.redisUrl) throw new Error('rate limiter backend "redis" needs a redisUrl');
      const timeoutMs = options.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
      const client = createLimiterRedisClient(options.redisUrl, {
        timeoutMs,
        logger: options.logger,
      });
      return createRedisRateLimiter({ ...options, client, ownsClient: true, timeoutMs });
    }
  }
}

/**
 * Like {@link createRateLimiter}, but for `redis` waits (at most `readyTimeoutMs`) for the first
 * connection, so a process does not start by admitting requests under the fail policy. If Redis
 * is not there in time it starts anyway, with a warning, and the fail policy applies.
 */
export async function openRateLimiter(
  options: CreateRateLimiterOptions,
  readyTimeoutMs = 2_000,
): Promise<RateLimiter> {
  if (options.backend !== 'redis' || !options.redisUrl) return createRateLimiter(options);
  const timeoutMs = options.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  const client = createLimiterRedisClient(options.redisUrl, { timeoutMs, logger: options.logger });
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), readyTimeoutMs);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (!ready) {
    options.logger.warn(
      { policy: options.failPolicy ?? 'fail-open' },
      'Redis for rate limits is not reachable yet; its fail policy applies until it is',
    );
  }
  return createRedisRateLimiter({ ...options, client, ownsClient: true, timeoutMs });
}
