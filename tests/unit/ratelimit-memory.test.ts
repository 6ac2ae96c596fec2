import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../src/ratelimit/create-rate-limiter.js';
import { createMemoryRateLimiter } from '../../src/ratelimit/memory-rate-limiter.js';
import { NoopRateLimiter } from '../../src/ratelimit/noop-rate-limiter.js';
import { rateLimitHeaders } from '../../src/ratelimit/rate-limit-headers.js';
import { describeRateLimiterBehaviour, ManualClock } from '../helpers/rate-limiter-suite.js';

describeRateLimiterBehaviour('memory', ({ clock, leaseMs }) =>
  createMemoryRateLimiter({ clock, leaseMs }),
);

const silentLogger = { warn: () => {} };

describe('memory rate limiter', () => {
  it('keeps separate counts in separate limiter instances', async () => {
    const clock = new ManualClock();
    const a = createMemoryRateLimiter({ clock: clock.now });
    const b = createMemoryRateLimiter({ clock: clock.now });
    const s = { keyId: 'k', tenantId: 't', key: { rpm: 1 } };
    expect((await a.admit(s, 0)).ok).toBe(true);
    expect((await b.admit(s, 0)).ok).toBe(true);
    expect((await a.admit(s, 0)).ok).toBe(false);
  });

  it('applies a changed limit to the count already made in the window', async () => {
    const clock = new ManualClock();
    const limiter = createMemoryRateLimiter({ clock: clock.now });
    for (let i = 0; i < 3; i++) {
      expect((await limiter.admit({ keyId: 'k', tenantId: 't', key: { rpm: 10 } }, 0)).ok).toBe(
        true,
      );
    }
    const lowered = await limiter.admit({ keyId: 'k', tenantId: 't', key: { rpm: 3 } }, 0);
    expect(lowered).toMatchObject({
      ok: false,
      reason: 'requests',
      state: { remainingRequests: 0 },
    });
  });

  it('builds a memory limiter from the factory that enforces limits', async () => {
    const clock = new ManualClock();
    const limiter = createRateLimiter({
      backend: 'memory',
      clock: clock.now,
      logger: silentLogger,
    });
    const s = { keyId: 'k', tenantId: 't', key: { rpm: 1 } };
    expect((await limiter.admit(s, 0)).ok).toBe(true);
    expect(await limiter.admit(s, 0)).toMatchObject({ ok: false, reason: 'requests' });
    await limiter.close();
  });

  it('refuses to build a redis limiter without a redisUrl', () => {
    expect(() =>
      createRateLimiter({ backend: 'redis', clock: Date.now, logger: silentLogger }),
    ).toThrow(/redisUrl/);
  });
});

describe('noop rate limiter', () => {
  it('admits every request, however limited the key, and sends no rate-limit headers', async () => {
    const limiter = createRateLimiter({ backend: 'none', clock: Date.now, logger: silentLogger });
    expect(limiter).toBeInstanceOf(NoopRateLimiter);
    const s = { keyId: 'k', tenantId: 't', key: { rpm: 0, tpm: 0, maxConcurrency: 0 } };
    for (let i = 0; i < 3; i++) {
      const result = await limiter.admit(s, 1_000);
      expect(result.ok).toBe(true);
      expect(rateLimitHeaders(result.state)).toEqual({});
      if (result.ok) {
        expect(result.ticket.reservedTokens).toBe(0);
        await result.ticket.settle(10);
        await result.ticket.release();
        await result.ticket.release();
      }
    }
  });
});
