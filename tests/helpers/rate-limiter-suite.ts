import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  AdmitResult,
  LimitSubject,
  RateLimiter,
  Ticket,
} from '../../src/ratelimit/rate-limiter.js';

/** A start time 15 s into a window, so a window resets 45 s later. */
export const T0_MS = 1_800_000_000_000 + 15_000;

/** A clock the test moves by hand. */
export class ManualClock {
  #nowMs: number;

  constructor(startMs = T0_MS) {
    this.#nowMs = startMs;
  }

  readonly now = (): number => this.#nowMs;

  advance(ms: number): void {
    this.#nowMs += ms;
  }
}

/** What the shared suite needs to build a limiter under test. */
export interface LimiterFactoryOptions {
  clock: () => number;
  leaseMs: number;
}

/** Builds a fresh limiter (with its own empty state) for one test. */
export type LimiterFactory = (options: LimiterFactoryOptions) => RateLimiter | Promise<RateLimiter>;

const LEASE_MS = 300_000;

function expectAdmitted(result: AdmitResult): Ticket {
  expect(result.ok, JSON.stringify(result)).toBe(true);
  if (!result.ok) throw new Error('unreachable');
  return result.ticket;
}

function subject(keyId: string, key: LimitSubject['key'], tenant?: LimitSubject['tenant']) {
  const s: LimitSubject = { keyId, tenantId: 'tenant-a', key };
  if (tenant) s.tenant = tenant;
  return s;
}

/**
 * The behaviour every real backend must show, run against memory and Redis alike.
 */
export function describeRateLimiterBehaviour(backend: string, factory: LimiterFactory): void {
  describe(`${backend} rate limiter`, () => {
    let clock: ManualClock;
    let limiter: RateLimiter;

    beforeEach(async () => {
      clock = new ManualClock();
      limiter = await factory({ clock: clock.now, leaseMs: LEASE_MS });
    });

    afterEach(async () => {
      await limiter.close();
    });

    it('rejects the (rpm+1)-th request in a window until the window resets', async () => {
      const s = subject('key-1', { rpm: 3 });
      const remaining: Array<number | null> = [];
      for (let i = 0; i < 3; i++) {
        const result = await limiter.admit(s, 0);
        expectAdmitted(result);
        remaining.push(result.state.remainingRequests);
      }
      expect(remaining).toEqual([2, 1, 0]);

      clock.advance(10_000);
      const rejected = await limiter.admit(s, 0);
      expect(rejected).toEqual({
        ok: false,
        reason: 'requests',
        scope: 'key',
        retryAfterMs: 35_000,
        state: expect.objectContaining({
          limitRequests: 3,
          remainingRequests: 0,
          resetRequestsMs: 35_000,
        }),
      });

      clock.advance(34_999);
      const stillRejected = await limiter.admit(s, 0);
      expect(stillRejected, JSON.stringify(stillRejected)).toMatchObject({
        ok: false,
        retryAfterMs: 1,
      });

      clock.advance(1);
      const admitted = await limiter.admit(s, 0);
      expectAdmitted(admitted);
      expect(admitted.state).toMatchObject({ remainingRequests: 2, resetRequestsMs: 60_000 });
    });

    it('reports limit, remaining and reset for requests and tokens of an admitted request', async () => {
      const result = await limiter.admit(subject('key-1', { rpm: 60, tpm: 1_000 }), 150);
      expectAdmitted(result);
      expect(result.state).toEqual({
        limitRequests: 60,
        remainingRequests: 59,
        resetRequestsMs: 45_000,
        limitTokens: 1_000,
        remainingTokens: 850,
        resetTokensMs: 45_000,
      });
    });

    it('peeks at the state without counting anything, the tenant included', async () => {
      const s = subject('key-1', { rpm: 3, tpm: 1_000, maxConcurrency: 1 }, { rpm: 10 });
      expect(await limiter.peek(s)).toEqual({
        limitRequests: 3,
        remainingRequests: 3,
        resetRequestsMs: 45_000,
        limitTokens: 1_000,
        remainingTokens: 1_000,
        resetTokensMs: 45_000,
      });
      const ticket = expectAdmitted(await limiter.admit(s, 400));
      for (let i = 0; i < 5; i++) {
        expect(await limiter.peek(s)).toMatchObject({ remainingRequests: 2, remainingTokens: 600 });
      }
      // The concurrency slot the ticket holds is still its own: a peek takes none.
      await ticket.release();
      expectAdmitted(await limiter.admit(s, 0));
      expect(await limiter.peek(subject('key-2', {}))).toMatchObject({ limitRequests: null });
    });

    it('counts reserved tokens and lets the next request through once settling refunds the over-reservation', async () => {
      const s = subject('key-1', { tpm: 1_000 });
      const first = expectAdmitted(await limiter.admit(s, 800));
      expect(first.reservedTokens).toBe(800);

      const tooMuch = await limiter.admit(s, 300);
      expect(tooMuch).toMatchObject({
        ok: false,
        reason: 'tokens',
        scope: 'key',
        retryAfterMs: 45_000,
        state: { remainingTokens: 200 },
      });

      await first.settle(250);
      const next = await limiter.admit(s, 300);
      expectAdmitted(next);
      expect(next.state.remainingTokens).toBe(1_000 - 250 - 300);
    });

    it('reserves extra tokens only as far as the window has room, and refuses only a reservation that does not fit', async () => {
      const s = subject('key-1', { tpm: 1_000 });
      // 100 tokens it needs, up to 1,024 more if they fit: the window holds 900 of them.
      const first = await limiter.admit(s, 100, 1_024);
      expect(expectAdmitted(first).reservedTokens).toBe(1_000);
      expect(first.state.remainingTokens).toBe(0);
      expect(await limiter.admit(s, 1, 1_024)).toMatchObject({
        ok: false,
        reason: 'tokens',
        state: { remainingTokens: 0 },
      });

      await expectAdmitted(first).settle(150);
      const second = await limiter.admit(s, 100, 1_024);
      expect(expectAdmitted(second).reservedTokens).toBe(850);
      await expectAdmitted(second).settle(0);
      // With room for all of it, all of it is reserved.
      const third = await limiter.admit(s, 100, 300);
      expect(expectAdmitted(third).reservedTokens).toBe(400);
      expect(third.state.remainingTokens).toBe(1_000 - 150 - 400);
    });

    it('never lets simultaneous reservations with extra tokens pass the limit together', async () => {
      const s = subject('key-1', { tpm: 1_000 });
      const results = await Promise.all(
        Array.from({ length: 8 }, () => limiter.admit(s, 100, 1_024)),
      );
      const reserved = results.map((r) => (r.ok ? r.ticket.reservedTokens : 0));
      const total = reserved.reduce((a, b) => a + b, 0);
      expect(total, JSON.stringify(reserved)).toBeLessThanOrEqual(1_000);
      expect(reserved.filter((r) => r > 0).length, JSON.stringify(reserved)).toBeGreaterThan(0);
      // What the admitted hold is exactly what the counter holds.
      expect((await limiter.peek(s)).remainingTokens).toBe(1_000 - total);
    });

    it('keeps the extra tokens under the tighter of key and tenant token limits', async () => {
      const tenant = { tpm: 10_000 };
      const keyA = subject('key-a', { tpm: 500 }, tenant);
      const keyB = subject('key-b', {}, tenant);
      const a = await limiter.admit(keyA, 100, 1_024);
      expect(expectAdmitted(a).reservedTokens).toBe(500);
      expect(a.state).toMatchObject({ limitTokens: 500, remainingTokens: 0 });
      const b = await limiter.admit(keyB, 100, 1_024);
      expect(expectAdmitted(b).reservedTokens).toBe(1_124);
      expect(b.state).toMatchObject({ limitTokens: 10_000, remainingTokens: 10_000 - 500 - 1_124 });
    });

    it('charges usage beyond the reservation when settling, and reports no fewer than 0 remaining', async () => {
      const s = subject('key-1', { tpm: 1_000 });
      const ticket = expectAdmitted(await limiter.admit(s, 100));
      await ticket.settle(400);
      const after = await limiter.admit(s, 0);
      expect(after.state.remainingTokens).toBe(600);

      const big = expectAdmitted(await limiter.admit(s, 500));
      await big.settle(2_000);
      const over = await limiter.admit(s, 1);
      expect(over).toMatchObject({ ok: false, reason: 'tokens', state: { remainingTokens: 0 } });
    });

    it('refunds every reserved token when a failed upstream call settles with 0', async () => {
      const s = subject('key-1', { tpm: 1_000 });
      const ticket = expectAdmitted(await limiter.admit(s, 1_000));
      expect(await limiter.admit(s, 1)).toMatchObject({ ok: false, reason: 'tokens' });

      await ticket.settle(0);
      const next = await limiter.admit(s, 1_000);
      expectAdmitted(next);
      expect(next.state.remainingTokens).toBe(0);
    });

    it('applies only the first settle of a ticket', async () => {
      const s = subject('key-1', { tpm: 1_000 });
      const ticket = expectAdmitted(await limiter.admit(s, 500));
      await ticket.settle(100);
      await ticket.settle(0);
      await ticket.settle(900);
      const after = await limiter.admit(s, 0);
      expect(after.state.remainingTokens).toBe(900);
    });

    it('does not credit a refund to a later window', async () => {
      const s = subject('key-1', { tpm: 1_000 });
      const ticket = expectAdmitted(await limiter.admit(s, 800));
      clock.advance(45_000);
      await ticket.settle(0);
      const next = await limiter.admit(s, 0);
      expect(next.state.remainingTokens).toBe(1_000);
    });

    it('charges extra usage settled after the window rolled over to the new window', async () => {
      const s = subject('key-1', { tpm: 1_000 });
      const ticket = expectAdmitted(await limiter.admit(s, 100));
      clock.advance(45_000);
      await ticket.settle(400);
      const next = await limiter.admit(s, 0);
      expect(next.state.remainingTokens).toBe(700);
    });

    it('does not consume a request slot for a request rejected on tokens', async () => {
      const s = subject('key-1', { rpm: 2, tpm: 100 });
      expectAdmitted(await limiter.admit(s, 100));
      const rejected = await limiter.admit(s, 50);
      expect(rejected).toMatchObject({
        ok: false,
        reason: 'tokens',
        state: { remainingRequests: 1, remainingTokens: 0 },
      });

      const cacheHit = await limiter.admit(s, 0);
      expectAdmitted(cacheHit);
      expect(cacheHit.state.remainingRequests).toBe(0);
    });

    it('rejects a reservation larger than the whole TPM limit until the window resets, consuming nothing', async () => {
      const s = subject('key-1', { rpm: 1, tpm: 100 });
      const rejected = await limiter.admit(s, 101);
      expect(rejected).toMatchObject({
        ok: false,
        reason: 'tokens',
        scope: 'key',
        retryAfterMs: 45_000,
        state: { remainingRequests: 1, remainingTokens: 100 },
      });

      const fits = await limiter.admit(s, 100);
      expectAdmitted(fits);
      expect(fits.state).toMatchObject({ remainingRequests: 0, remainingTokens: 0 });
    });

    it('counts 0-token reservations (cache hits) as requests but not as tokens', async () => {
      const s = subject('key-1', { rpm: 5, tpm: 100 });
      const full = expectAdmitted(await limiter.admit(s, 100));
      const hit = await limiter.admit(s, 0);
      const hitTicket = expectAdmitted(hit);
      expect(hitTicket.reservedTokens).toBe(0);
      expect(hit.state).toMatchObject({ remainingRequests: 3, remainingTokens: 0 });

      await hitTicket.settle(0);
      await full.settle(40);
      const after = await limiter.admit(s, 0);
      expect(after.state).toMatchObject({ remainingRequests: 2, remainingTokens: 60 });
    });

    it('admits a cache hit even when settled usage has pushed tokens past the limit', async () => {
      const s = subject('key-1', { tpm: 100 });
      await expectAdmitted(await limiter.admit(s, 50)).settle(500);
      expect(await limiter.admit(s, 1)).toMatchObject({ ok: false, reason: 'tokens' });
      const hit = await limiter.admit(s, 0);
      expectAdmitted(hit);
      expect(hit.state.remainingTokens).toBe(0);
    });

    it('admits maxConcurrency simultaneous requests and rejects exactly one more', async () => {
      const s = subject('key-1', { maxConcurrency: 3 });
      const results = await Promise.all([1, 2, 3, 4].map(() => limiter.admit(s, 0)));
      const rejected = results.filter((r) => !r.ok);
      expect(rejected, JSON.stringify(results)).toEqual([
        expect.objectContaining({
          ok: false,
          reason: 'concurrency',
          scope: 'key',
          retryAfterMs: 1_000,
        }),
      ]);
    });

    it('frees a concurrency slot on release, and a second release frees nothing more', async () => {
      const s = subject('key-1', { maxConcurrency: 1 });
      const first = expectAdmitted(await limiter.admit(s, 0));
      expect(await limiter.admit(s, 0)).toMatchObject({ ok: false, reason: 'concurrency' });

      await first.release();
      await first.release();
      expectAdmitted(await limiter.admit(s, 0));
      expect(await limiter.admit(s, 0)).toMatchObject({ ok: false, reason: 'concurrency' });
    });

    it('keeps neither a request slot nor tokens for a request rejected on concurrency', async () => {
      const s = subject('key-1', { rpm: 5, tpm: 100, maxConcurrency: 1 });
      const holder = expectAdmitted(await limiter.admit(s, 40));
      const rejected = await limiter.admit(s, 50);
      expect(rejected).toMatchObject({
        ok: false,
        reason: 'concurrency',
        state: { remainingRequests: 4, remainingTokens: 60 },
      });

      await holder.release();
      const next = await limiter.admit(s, 60);
      expectAdmitted(next);
      expect(next.state).toMatchObject({ remainingRequests: 3, remainingTokens: 0 });
    });

    it('frees the slot of a request never released once its lease expires', async () => {
      const s = subject('key-1', { maxConcurrency: 1 });
      expectAdmitted(await limiter.admit(s, 0));
      clock.advance(LEASE_MS - 1);
      expect(await limiter.admit(s, 0)).toMatchObject({ ok: false, reason: 'concurrency' });
      clock.advance(1);
      expectAdmitted(await limiter.admit(s, 0));
    });

    it('applies tenant limits across two keys of one tenant, and not to another tenant', async () => {
      const tenant = { rpm: 3, tpm: 1_000 };
      const keyA = subject('key-a', { rpm: 10 }, tenant);
      const keyB = subject('key-b', { rpm: 10 }, tenant);
      expectAdmitted(await limiter.admit(keyA, 0));
      expectAdmitted(await limiter.admit(keyA, 0));
      const third = await limiter.admit(keyB, 0);
      expectAdmitted(third);
      expect(third.state).toMatchObject({ limitRequests: 3, remainingRequests: 0 });

      for (const s of [keyA, keyB]) {
        expect(await limiter.admit(s, 0)).toMatchObject({
          ok: false,
          reason: 'requests',
          scope: 'tenant',
          retryAfterMs: 45_000,
        });
      }

      const otherTenant: LimitSubject = { ...keyA, tenantId: 'tenant-b' };
      expectAdmitted(await limiter.admit(otherTenant, 0));
    });

    it('gives a key its own request slot back when its tenant rejects the request on tokens', async () => {
      const tenant = { tpm: 100 };
      const keyA = subject('key-a', { rpm: 1 }, tenant);
      const keyB = subject('key-b', { rpm: 5 }, tenant);
      expectAdmitted(await limiter.admit(keyB, 100));
      expect(await limiter.admit(keyA, 10)).toMatchObject({
        ok: false,
        reason: 'tokens',
        scope: 'tenant',
      });
      const hit = await limiter.admit(keyA, 0);
      expectAdmitted(hit);
      expect(hit.state.remainingRequests).toBe(0);
    });

    it('limits tenant concurrency across keys', async () => {
      const tenant = { maxConcurrency: 2 };
      const keyA = subject('key-a', {}, tenant);
      const keyB = subject('key-b', { maxConcurrency: 5 }, tenant);
      const a = expectAdmitted(await limiter.admit(keyA, 0));
      expectAdmitted(await limiter.admit(keyB, 0));
      expect(await limiter.admit(keyB, 0)).toMatchObject({
        ok: false,
        reason: 'concurrency',
        scope: 'tenant',
      });
      await a.release();
      expectAdmitted(await limiter.admit(keyB, 0));
    });

    it('reports the tighter of key and tenant limits', async () => {
      const result = await limiter.admit(
        subject('key-1', { rpm: 10, tpm: 500 }, { rpm: 3, tpm: 10_000 }),
        100,
      );
      expectAdmitted(result);
      expect(result.state).toMatchObject({
        limitRequests: 3,
        remainingRequests: 2,
        limitTokens: 500,
        remainingTokens: 400,
      });
    });

    it('admits a key without limits and reports it as unlimited', async () => {
      const result = await limiter.admit(subject('key-1', { rpm: null }), 10_000);
      const ticket = expectAdmitted(result);
      expect(result.state).toEqual({
        limitRequests: null,
        remainingRequests: null,
        resetRequestsMs: null,
        limitTokens: null,
        remainingTokens: null,
        resetTokensMs: null,
      });
      await ticket.settle(5);
      await ticket.release();
    });

    it('keeps the counts of different keys apart', async () => {
      expectAdmitted(await limiter.admit(subject('key-a', { rpm: 1 }), 0));
      expect(await limiter.admit(subject('key-a', { rpm: 1 }), 0)).toMatchObject({ ok: false });
      expectAdmitted(await limiter.admit(subject('key-b', { rpm: 1 }), 0));
    });
  });
}
