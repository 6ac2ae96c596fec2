import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/keys/key-admin.js';
import type { KeyVerifier } from '../../src/keys/key-verifier.js';
import { createKeyVerifier, KeyStoreUnavailable } from '../../src/keys/key-verifier.js';
import type { RedisKeyChangeBus } from '../../src/keys/redis-key-change-bus.js';
import { createRedisKeyChangeBus } from '../../src/keys/redis-key-change-bus.js';
import type { DatabaseHandle } from '../../src/storage/database.js';
import { revokeApiKey } from '../../src/storage/queries/api-keys.js';
import { manualClock } from '../helpers/manual-clock.js';
import { openMigratedPglite } from '../helpers/pglite-template.js';

const redisUrl = process.env.TEST_REDIS_URL;

describe('4: a key while the database does not answer', () => {
  it('4: keeps working for the stale window after its last read, then is refused until it can be read', async () => {
    const handle = await openMigratedPglite();
    const clock = manualClock(Date.parse('2026-01-01T00:00:00Z'));
    const verifier = createKeyVerifier({
      db: handle.db,
      clock,
      ttlMs: 2_000,
      staleWindowMs: 30_000,
    });
    const { key } = await createKey(handle.db, { name: 'partitioned' });
    expect((await verifier.verify(key)).ok).toBe(true);
    await handle.close();
    clock.advance(10_000);
    expect((await verifier.verify(key)).ok, 'inside the window').toBe(true);
    clock.advance(19_000);
    expect((await verifier.verify(key)).ok, 'still inside the window').toBe(true);
    clock.advance(1_001);
    await expect(verifier.verify(key)).rejects.toBeInstanceOf(KeyStoreUnavailable);
    clock.advance(60_000);
    await expect(verifier.verify(key)).rejects.toBeInstanceOf(KeyStoreUnavailable);
  });
});

describe('a key lookup many requests wait on', () => {
  it('reports the outage once, not once for every request that waited on the failed lookup', async () => {
    const handle = await openMigratedPglite();
    const clock = manualClock(Date.parse('2026-01-01T00:00:00Z'));
    const errors: unknown[] = [];
    const verifier = createKeyVerifier({
      db: handle.db,
      clock,
      ttlMs: 2_000,
      staleWindowMs: 30_000,
      onError: (err) => errors.push(err),
    });
    const { key } = await createKey(handle.db, { name: 'busy' });
    expect((await verifier.verify(key)).ok).toBe(true);
    await handle.close();
    clock.advance(5_000);
    const burst = await Promise.all(Array.from({ length: 32 }, () => verifier.verify(key)));
    expect(burst.every((result) => result.ok)).toBe(true);
    expect(errors).toHaveLength(1);
  });
});

describe.skipIf(!redisUrl)('4: revocations published through Redis', () => {
  let handle: DatabaseHandle;
  const buses: RedisKeyChangeBus[] = [];

  beforeAll(async () => {
    handle = await openMigratedPglite();
  });

  afterAll(async () => {
    for (const bus of buses) await bus.close();
    await handle?.close();
  });

  function instance(clock: ReturnType<typeof manualClock>): {
    bus: RedisKeyChangeBus;
    verifier: KeyVerifier;
  } {
    const bus = createRedisKeyChangeBus(redisUrl ?? '', (err) => {
      throw err;
    });
    buses.push(bus);
    const verifier = createKeyVerifier({
      db: handle.db,
      clock,
      ttlMs: 5_000,
      staleWindowMs: 30_000,
      bus,
    });
    return { bus, verifier };
  }

  it('4: drops a key revoked on one instance from the other at once, before its cache expires', async () => {
    // Neither clock moves: without the message, instance B would trust its copy for 5 s.
    const clock = manualClock(Date.parse('2026-01-01T00:00:00Z'));
    const a = instance(clock);
    const b = instance(clock);
    const { key, row } = await createKey(handle.db, { name: 'revoked-elsewhere' });
    const heard = new Promise<string>((resolve) => {
      void b.bus.subscribe(resolve);
    });
    // Settles once B listens (its SUBSCRIBE commands run in order).
    await b.bus.subscribe(() => {});
    expect((await b.verifier.verify(key)).ok).toBe(true);
    await revokeApiKey(handle.db, row.id, new Date(clock.now()));
    expect((await b.verifier.verify(key)).ok, 'B still holds its cached copy').toBe(true);
    a.verifier.invalidate(row.publicId);
    expect(await heard).toBe(row.publicId);
    expect(await b.verifier.verify(key)).toEqual({ ok: false, reason: 'revoked' });
  });
});
