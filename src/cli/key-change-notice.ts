import { Redis } from 'ioredis';
import { loadConfig } from '../config.js';
import { KEY_CHANGES_CHANNEL } from '../keys/redis-key-change-bus.js';

/** How long the command waits for Redis before leaving the change to the gateways' key cache TTL. */
const NOTICE_TIMEOUT_MS = 1_000;

/**
 * Tells the running gateways that keys changed, on the Redis channel they listen on when REDIS_URL
 * is set, so a change made here applies at once on every instance as one made through the admin
 * API does, instead of after their key cache TTL. Without REDIS_URL there is no one to tell; when
 * Redis does not answer, the command says so on stderr and the TTL still bounds the delay.
 */
export async function announceKeyChanges(publicIds: readonly string[]): Promise<void> {
  const { redisUrl } = loadConfig(process.env).rateLimit;
  if (redisUrl === undefined || publicIds.length === 0) return;
  const client = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: NOTICE_TIMEOUT_MS,
    commandTimeout: NOTICE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    // One attempt: an operator's command does not wait on a Redis that is away.
    retryStrategy: () => null,
  });
  // Failures are reported below; without a listener ioredis would print them as unhandled.
  client.on('error', () => {});
  try {
    await client.connect();
    for (const publicId of publicIds) await client.publish(KEY_CHANGES_CHANNEL, publicId);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    process.stderr.write(
      `warning: could not tell the gateways through Redis (${reason}); the change applies on each within its key cache TTL.\n`,
    );
  } finally {
    client.disconnect();
  }
}
