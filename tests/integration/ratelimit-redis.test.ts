import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../src/ratelimit/create-rate-limiter.js';
import { createLimiterRedisClient } from '../../src/ratelimit/limiter-redis-client.js';
import type {
  AdmitResult,
  BackendErrorEvent,
  FailPolicy,
  LimitSubject,
  RateLimiter,
} from '../../src/ratelimit/rate-limiter.js';
import { UNLIMITED_STATE } from '../../src/ratelimit/rate-limiter.js';
import { createRedisRateLimiter } from '../../src/ratelimit/redis-rate-limiter.js';
import { FreezableTcpProxy } from '../helpers/freezable-tcp-proxy.js';
import { describeRateLimiterBehaviour, ManualClock } from '../helpers/rate-limiter-suite.js';

const REDIS_URL = process.env.TEST_REDIS_URL;
/** Nothing listens here: connections are refused. */
const DEAD_REDIS_URL = 'redis://127.0.0.1:6390';
const TIMEOUT_MS = 100;
/** A budget a busy machine's loopback round trip cannot use up, for the calls that must answer. */
const STALL_TIMEOUT_MS = 1_000;
/**
 * Slack over the timeout that a busy machine cannot use up (a late timer is late by tens of
 * milliseconds, not seconds); without the timeout a frozen Redis hangs the call for good, and a
 * refused one retries for ten seconds and more.
 */
const ELAPSED_SLACK_MS = 4_900;

const silentLogger = { warn: () => {} };

function recorder() {
  const events: BackendErrorEvent[] = [];
  const warnings: string[] = [];
  return {
    events,
    warnings,
    onBackendError: (event: BackendErrorEvent) => events.push(event),
    logger: { warn: (_obj: object, msg: string) => warnings.push(msg) },
  };
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; elapsedMs: number }> {
  const start = performance.now();
  const value = await work();
  return { value, elapsedMs: performance.now() - start };
}

function successes(results: AdmitResult[]): number {
  return results.filter((r) => r.ok).length;
}

describe.skipIf(!REDIS_URL)('redis rate limiter', () => {
  const runPrefix = `tollgate-test:ratelimit:${randomUUID()}`;
  let limiterCount = 0;
  const nextPrefix = () => `${runPrefix}:${limiterCount++}`;
  const clients: Redis[] = [];
  let shared: Redis;

  async function connectedClient(): Promise<Redis> {
    const client = createLimiterRedisClient(REDIS_URL ?? '', {
      timeoutMs: 1_000,
      logger: silentLogger,
    });
    clients.push(client);
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    return client;
  }

  beforeAll(async () => {
    shared = await connectedClient();
  });

  afterAll(async () => {
    if (!shared) return;
    const keys: string[] = [];
    for await (const batch of shared.scanStream({ match: `${runPrefix}:*`, count: 500 })) {
      keys.push(...(batch as string[]));
    }
    if (keys.length > 0) await shared.del(...keys);
    for (const client of clients) client.disconnect();
  });

  describeRateLimiterBehaviour('redis', ({ clock, leaseMs }) =>
    createRedisRateLimiter({
      client: shared,
      keyPrefix: nextPrefix(),
      clock,
      leaseMs,
      timeoutMs: 1_000,
      logger: silentLogger,
    }),
  );

  describe('shared by several processes', () => {
    async function twoProcesses(): Promise<[RateLimiter, RateLimiter]> {
      const clock = new ManualClock();
      const keyPrefix = nextPrefix();
      const [a, b] = await Promise.all([connectedClient(), connectedClient()]);
      const make = (client: Redis) =>
        createRedisRateLimiter({ client, keyPrefix, clock: clock.now, logger: silentLogger });
      return [make(a), make(b)];
    }

    function spread(limiters: RateLimiter[], count: number, s: LimitSubject, tokens: number) {
      return Promise.all(
        Array.from({ length: count }, (_, i) => limiters[i % limiters.length]?.admit(s, tokens)),
      );
    }

    it('admits exactly rpm of 2×rpm simultaneous requests spread over two limiters', async () => {
      const limiters = await twoProcesses();
      const s = { keyId: 'key-1', tenantId: 't', key: { rpm: 25 } };
      const results = (await spread(limiters, 50, s, 0)) as AdmitResult[];
      expect(successes(results), JSON.stringify(results.filter((r) => !r.ok)[0])).toBe(25);
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'requests')).toBe(
        true,
      );
    });

    it('admits exactly as many reservations as fit the shared TPM limit', async () => {
      const limiters = await twoProcesses();
      const s = { keyId: 'key-1', tenantId: 't', key: { tpm: 2_000 } };
      const results = (await spread(limiters, 40, s, 100)) as AdmitResult[];
      expect(successes(results)).toBe(20);
      const after = await limiters[0].admit(s, 0);
      expect(after.state.remainingTokens).toBe(0);
    });

    it('never lets reservations with extra tokens over two limiters pass the shared TPM limit', async () => {
      const limiters = await twoProcesses();
      const s = { keyId: 'key-1', tenantId: 't', key: { tpm: 2_000 } };
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => limiters[i % 2]?.admit(s, 100, 700)),
      );
      const reserved = results.map((r) => (r?.ok ? r.ticket.reservedTokens : 0));
      const total = reserved.reduce((a, b) => a + b, 0);
      expect(total, JSON.stringify(reserved)).toBeLessThanOrEqual(2_000);
      expect(reserved.filter((r) => r > 0).length, JSON.stringify(reserved)).toBeGreaterThan(0);
      expect((await limiters[1].peek(s)).remainingTokens).toBe(2_000 - total);
    });

    it('admits exactly maxConcurrency of twice as many simultaneous requests', async () => {
      const limiters = await twoProcesses();
      const s = { keyId: 'key-1', tenantId: 't', key: { maxConcurrency: 6 } };
      const results = (await spread(limiters, 12, s, 0)) as AdmitResult[];
      expect(successes(results)).toBe(6);
    });

    it('lets one process use the tokens another process refunded', async () => {
      const [a, b] = await twoProcesses();
      const s = { keyId: 'key-1', tenantId: 't', key: { tpm: 1_000 } };
      const first = await a.admit(s, 900);
      expect(first.ok).toBe(true);
      expect(await b.admit(s, 500)).toMatchObject({ ok: false, reason: 'tokens' });
      if (first.ok) await first.ticket.settle(100);
      const second = await b.admit(s, 500);
      expect(second).toMatchObject({ ok: true, state: { remainingTokens: 400 } });
    });
  });

  describe('when Redis is unreachable', () => {
    const s = { keyId: 'key-1', tenantId: 't', key: { rpm: 1, tpm: 10, maxConcurrency: 1 } };
    const opened: RateLimiter[] = [];
    const proxies: FreezableTcpProxy[] = [];

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((limiter) => limiter.close()));
      await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
    });

    function deadLimiter(failPolicy: FailPolicy, rec: ReturnType<typeof recorder>) {
      const limiter = createRateLimiter({
        backend: 'redis',
        redisUrl: DEAD_REDIS_URL,
        failPolicy,
        timeoutMs: TIMEOUT_MS,
        clock: Date.now,
        logger: rec.logger,
        onBackendError: rec.onBackendError,
      });
      opened.push(limiter);
      return limiter;
    }

    async function frozenLimiter(failPolicy: FailPolicy, rec: ReturnType<typeof recorder>) {
      const target = new URL(REDIS_URL ?? '');
      const proxy = await FreezableTcpProxy.start({
        host: target.hostname,
        port: Number(target.port || 6379),
      });
      proxies.push(proxy);
      // A plain client without command timeouts: only the limiter's own timeout can bound it.
      const client = new Redis({ host: '127.0.0.1', port: proxy.port, lazyConnect: true });
      client.on('error', () => {});
      clients.push(client);
      await client.connect();
      const limiter = createRedisRateLimiter({
        client,
        keyPrefix: nextPrefix(),
        failPolicy,
        timeoutMs: TIMEOUT_MS,
        logger: rec.logger,
        onBackendError: rec.onBackendError,
      });
      opened.push(limiter);
      expect((await limiter.admit(s, 1)).ok).toBe(true);
      proxy.freeze();
      return limiter;
    }

    it('admits within the timeout under fail-open when nothing listens, and reports the failure', async () => {
      const rec = recorder();
      const limiter = deadLimiter('fail-open', rec);
      const { value, elapsedMs } = await timed(() => limiter.admit(s, 5));
      expect(value).toMatchObject({ ok: true, state: UNLIMITED_STATE });
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS + ELAPSED_SLACK_MS);
      expect(rec.events.map((e) => e.operation)).toContain('admit');
      expect(rec.warnings.some((w) => w.includes('fail-open'))).toBe(true);
      if (value.ok) {
        await value.ticket.settle(5);
        await value.ticket.release();
      }
    });

    it('answers unavailable within the timeout under fail-closed when nothing listens', async () => {
      const rec = recorder();
      const limiter = deadLimiter('fail-closed', rec);
      const { value, elapsedMs } = await timed(() => limiter.admit(s, 5));
      expect(value).toEqual({ ok: false, reason: 'unavailable', state: UNLIMITED_STATE });
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS + ELAPSED_SLACK_MS);
      expect(rec.events.filter((e) => e.operation === 'admit')).toHaveLength(1);
    });

    it('answers unavailable after the timeout under fail-closed when Redis stops answering', async () => {
      const rec = recorder();
      const limiter = await frozenLimiter('fail-closed', rec);
      const { value, elapsedMs } = await timed(() => limiter.admit(s, 1));
      expect(value).toMatchObject({ ok: false, reason: 'unavailable' });
      expect(elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS + ELAPSED_SLACK_MS);
      expect(rec.events.some((e) => e.operation === 'admit')).toBe(true);
    });

    it('admits after the timeout under fail-open when Redis stops answering, and counts each failure', async () => {
      const rec = recorder();
      const limiter = await frozenLimiter('fail-open', rec);
      for (let i = 0; i < 3; i++) {
        const { value, elapsedMs } = await timed(() => limiter.admit(s, 1));
        expect(value).toMatchObject({ ok: true, state: UNLIMITED_STATE });
        expect(elapsedMs).toBeLessThan(TIMEOUT_MS + ELAPSED_SLACK_MS);
      }
      expect(rec.events.filter((e) => e.operation === 'admit')).toHaveLength(3);
      expect(rec.warnings).toHaveLength(1);
    });

    /**
     * A limiter on the gateway's own client (command timeouts, no offline queue, nothing resent)
     * reaching Redis through a proxy that can stall or cut it; its clock does not move on its own.
     */
    async function proxiedGatewayLimiter() {
      const target = new URL(REDIS_URL ?? '');
      const proxy = await FreezableTcpProxy.start({
        host: target.hostname,
        port: Number(target.port || 6379),
      });
      proxies.push(proxy);
      const client = createLimiterRedisClient(`redis://127.0.0.1:${proxy.port}`, {
        timeoutMs: STALL_TIMEOUT_MS,
        logger: silentLogger,
      });
      clients.push(client);
      if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
      const rec = recorder();
      const limiter = createRedisRateLimiter({
        client,
        keyPrefix: nextPrefix(),
        clock: new ManualClock().now,
        timeoutMs: STALL_TIMEOUT_MS,
        logger: rec.logger,
        onBackendError: rec.onBackendError,
      });
      opened.push(limiter);
      return { proxy, client, rec, limiter };
    }

    it('holds no slot and no count for the admits a stall timed out: the key gets through at once after it', async () => {
      const { proxy, client, rec, limiter } = await proxiedGatewayLimiter();
      const k = { keyId: 'key-1', tenantId: 't', key: { rpm: 10, tpm: 1_000, maxConcurrency: 2 } };
      const before = await limiter.admit(k, 100);
      if (!before.ok) throw new Error(JSON.stringify(before));
      await before.ticket.release();

      proxy.freeze();
      const during = await Promise.all([limiter.admit(k, 100), limiter.admit(k, 100)]);
      expect(during, JSON.stringify(during)).toMatchObject([
        { ok: true, state: UNLIMITED_STATE },
        { ok: true, state: UNLIMITED_STATE },
      ]);
      expect(rec.events.filter((e) => e.operation === 'admit')).toHaveLength(2);
      proxy.thaw();
      // Redis runs one connection's commands in order: once this answers, whatever the stalled
      // admits sent has run.
      await client.ping();

      // The limiter's clock has not moved, so no lease has expired: only a give-back frees them.
      const first = await limiter.admit(k, 100);
      expect(first, JSON.stringify(first)).toMatchObject({
        ok: true,
        state: { remainingRequests: 8, remainingTokens: 800 },
      });
      const second = await limiter.admit(k, 100);
      expect(second, JSON.stringify(second)).toMatchObject({
        ok: true,
        state: { remainingRequests: 7, remainingTokens: 700 },
      });
    });

    it('settles and releases without throwing or hanging when Redis goes away mid-request', async () => {
      const rec = recorder();
      const client = await connectedClient();
      const limiter = createRedisRateLimiter({
        client,
        keyPrefix: nextPrefix(),
        timeoutMs: TIMEOUT_MS,
        logger: rec.logger,
        onBackendError: rec.onBackendError,
      });
      opened.push(limiter);
      const admitted = await limiter.admit(s, 10);
      expect(admitted.ok).toBe(true);
      if (!admitted.ok) return;

      client.disconnect();
      const { elapsedMs } = await timed(async () => {
        await admitted.ticket.settle(2);
        await admitted.ticket.release();
      });
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS + ELAPSED_SLACK_MS);
      expect(rec.events.map((e) => e.operation).sort()).toEqual(['release', 'settle']);

      expect(await limiter.admit(s, 10)).toMatchObject({ ok: true, state: UNLIMITED_STATE });
    });

    it('frees a slot whose release Redis refused while down, before the next admit once it is back', async () => {
      const { proxy, client, rec, limiter } = await proxiedGatewayLimiter();
      const k = { keyId: 'key-1', tenantId: 't', key: { maxConcurrency: 1 } };
      const held = await limiter.admit(k, 0);
      if (!held.ok) throw new Error(JSON.stringify(held));

      // Redis goes away while the request runs: its release is refused at once.
      const closed = new Promise((resolve) => client.once('close', resolve));
      proxy.cut();
      await closed;
      await held.ticket.release();
      expect(rec.events.map((e) => e.operation)).toEqual(['release']);

      proxy.restore();
      await new Promise((resolve) => client.once('ready', resolve));
      // The limiter's clock has not moved, so the lease has not expired: only the owed release
      // can free it, and it goes before this admit's own commands.
      const next = await limiter.admit(k, 0);
      expect(next, JSON.stringify(next)).toMatchObject({ ok: true });
      expect(await limiter.admit(k, 0)).toMatchObject({ ok: false, reason: 'concurrency' });
    });

    it('settles and releases within the timeout when Redis stops answering mid-request', async () => {
      const rec = recorder();
      const target = new URL(REDIS_URL ?? '');
      const proxy = await FreezableTcpProxy.start({
        host: target.hostname,
        port: Number(target.port || 6379),
      });
      proxies.push(proxy);
      const client = new Redis({ host: '127.0.0.1', port: proxy.port, lazyConnect: true });
      client.on('error', () => {});
      clients.push(client);
      await client.connect();
      const limiter = createRedisRateLimiter({
        client,
        keyPrefix: nextPrefix(),
        timeoutMs: TIMEOUT_MS,
        logger: rec.logger,
        onBackendError: rec.onBackendError,
      });
      opened.push(limiter);
      const admitted = await limiter.admit(s, 10);
      if (!admitted.ok) throw new Error(JSON.stringify(admitted));

      proxy.freeze();
      const { elapsedMs } = await timed(async () => {
        await Promise.all([admitted.ticket.settle(2), admitted.ticket.release()]);
      });
      expect(elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS + ELAPSED_SLACK_MS);
      expect(rec.events.map((e) => e.operation).sort()).toEqual(['release', 'settle']);
    });
  });
});
