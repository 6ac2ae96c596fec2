import { Redis } from 'ioredis';
import type { RateLimiterLogger } from './rate-limiter.js';

/** Lower bound of the TCP connect timeout (a connect is not on a request's path). */
export const MIN_CONNECT_TIMEOUT_MS = 1_000;

/** Longest pause between reconnect attempts while Redis is down. */
export const MAX_RECONNECT_DELAY_MS = 2_000;

/** Options for {@link createLimiterRedisClient}. */
export interface LimiterRedisClientOptions {
  /** Budget of one command; the limiter also races each call against it. */
  timeoutMs: number;
  logger: RateLimiterLogger;
}

/**
 * An ioredis client set up so no limiter call can hang: commands fail at once while disconnected
 * instead of queueing (`enableOfflineQueue: false`), are never resent after a reconnect (a counter
 * update replayed later would count twice), and time out after `timeoutMs`. It reconnects in the
 * background; a lost connection is logged once until it is back.
 */
export function createLimiterRedisClient(
  redisUrl: string,
  options: LimiterRedisClientOptions,
): Redis {
  const client = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.timeoutMs,
    connectTimeout: Math.max(options.timeoutMs, MIN_CONNECT_TIMEOUT_MS),
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  });
  let connected = true;
  client.on('error', (error: Error) => {
    if (!connected) return;
    connected = false;
    options.logger.warn(
      { err: error.message },
      'rate limiter lost its Redis connection; reconnecting',
    );
  });
  client.on('ready', () => {
    connected = true;
  });
  return client;
}
