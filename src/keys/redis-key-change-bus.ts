import { Redis } from 'ioredis';
import type { KeyChangeBus } from './key-verifier.js';

/** The channel every instance listens on; a message is the changed key's public id. */
export const KEY_CHANGES_CHANNEL = 'tollgate:key-changes';

const CONNECT_TIMEOUT_MS = 1_000;
const MAX_RECONNECT_DELAY_MS = 2_000;

/** A key change bus over Redis pub/sub, with how to close its two connections. */
export interface RedisKeyChangeBus extends KeyChangeBus {
  close(): Promise<void>;
}

function connect(url: string, queueWhileAway: boolean): Redis {
  return new Redis(url, {
    // A publish while Redis is away is dropped, not queued (the key cache TTL still bounds it);
    // the subscriber's one SUBSCRIBE waits for the connection.
    enableOfflineQueue: queueWhileAway,
    maxRetriesPerRequest: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  });
}

/**
 * Publishes key changes (revocations, updates, a forgotten tenant's keys) on Redis, so every
 * instance drops its cached copy at once instead of after its key cache TTL.
 */
export function createRedisKeyChangeBus(
  url: string,
  onError: (err: unknown) => void,
): RedisKeyChangeBus {
  const publisher = connect(url, false);
  const subscriber = connect(url, true);
  let reportedDown = false;
  for (const client of [publisher, subscriber]) {
    // Reported once per outage: a reconnecting client fails again every attempt.
    client.on('error', (err: unknown) => {
      if (!reportedDown) onError(err);
      reportedDown = true;
    });
    client.on('ready', () => {
      reportedDown = false;
    });
  }
  return {
    publish(publicId) {
      publisher.publish(KEY_CHANGES_CHANNEL, publicId).then(
        () => {
          reportedDown = false;
        },
        (err: unknown) => {
          if (!reportedDown) onError(err);
          reportedDown = true;
        },
      );
    },
    async subscribe(onChange) {
      // ioredis subscribes again by itself after a reconnect.
      subscriber.on('message', (channel: string, message: string) => {
        if (channel === KEY_CHANGES_CHANNEL) onChange(message);
      });
      await subscriber.subscribe(KEY_CHANGES_CHANNEL).catch(onError);
    },
    async close() {
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
