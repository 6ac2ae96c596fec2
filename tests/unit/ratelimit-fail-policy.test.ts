import { describe, expect, it } from 'vitest';
import { BACKEND_WARN_INTERVAL_MS } from '../../src/ratelimit/backend-error-reporter.js';
import { type LimitStore, UnansweredStoreError } from '../../src/ratelimit/limit-store.js';
import { MemoryLimitStore } from '../../src/ratelimit/memory-rate-limiter.js';
import { OWED_RETRY_INTERVAL_MS } from '../../src/ratelimit/owed-releases.js';
import type { BackendErrorEvent, FailPolicy } from '../../src/ratelimit/rate-limiter.js';
import { UNLIMITED_STATE } from '../../src/ratelimit/rate-limiter.js';
import { WindowedRateLimiter } from '../../src/ratelimit/windowed-rate-limiter.js';
import { ManualClock } from '../helpers/rate-limiter-suite.js';

/**
 * A memory store whose operations can be made to fail, like a Redis that went away, to refuse
 * single commands while the rest run, like an error reply, or to stall, like a Redis that stops
 * answering: a stalled operation times out at once for its caller and runs, in the order sent,
 * when the store resumes.
 */
class FlakyStore implements LimitStore {
  readonly inner = new MemoryLimitStore();
  failCounters = false;
  failLeases = false;
  /** How many of the next operations are refused without running. */
  refusals = 0;
  #stalled: Array<() => Promise<unknown>> | null = null;

  stall(): void {
    this.#stalled = [];
  }

  /** Runs what was sent during the stall, in order, and answers again. */
  async resume(): Promise<void> {
    const sent = this.#stalled ?? [];
    this.#stalled = null;
    for (const operation of sent) await operation();
  }

  add(key: string, points: number): Promise<number> {
    if (this.failCounters) return Promise.reject(new Error('counter backend down'));
    return this.#send(() => this.inner.add(key, points));
  }

  acquireLease(key: string, id: string, max: number, now: number, leaseMs: number) {
    if (this.failLeases) return Promise.reject(new Error('lease backend down'));
    return this.#send(() => this.inner.acquireLease(key, id, max, now, leaseMs));
  }

  releaseLease(key: string, id: string): Promise<void> {
    if (this.failLeases) return Promise.reject(new Error('lease backend down'));
    return this.#send(() => this.inner.releaseLease(key, id));
  }

  #send<T>(operation: () => Promise<T>): Promise<T> {
    if (this.refusals > 0) {
      this.refusals -= 1;
      return Promise.reject(new Error('backend refused the command'));
    }
    if (this.#stalled === null) return operation();
    this.#stalled.push(operation);
    return Promise.reject(new UnansweredStoreError(new Error('backend did not answer')));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function setup(failPolicy: FailPolicy, onBackendError?: (event: BackendErrorEvent) => void) {
  const clock = new ManualClock();
  const store = new FlakyStore();
  const events: BackendErrorEvent[] = [];
  const warnings: Array<{ obj: object; msg: string }> = [];
  const limiter = new WindowedRateLimiter({
    store,
    clock: clock.now,
    failPolicy,
    logger: { warn: (obj, msg) => warnings.push({ obj, msg }) },
    onBackendError:
      onBackendError ??
      ((event) => {
        events.push(event);
      }),
  });
  return { clock, store, limiter, events, warnings };
}

const subject = { keyId: 'k', tenantId: 't', key: { rpm: 1, tpm: 100, maxConcurrency: 1 } };

describe('rate limiter backend failures', () => {
  it('admits unlimited under fail-open, reports the failure and warns once', async () => {
    const { store, limiter, events, warnings } = setup('fail-open');
    store.failCounters = true;
    const result = await limiter.admit(subject, 10);
    expect(result).toMatchObject({ ok: true, state: UNLIMITED_STATE });
    expect(events.map((e) => e.operation)).toEqual(['admit']);
    expect(warnings).toEqual([
      expect.objectContaining({ msg: expect.stringContaining('fail-open') }),
    ]);
  });

  it('reads a failing backend as unlimited when peeking, under either policy, and reports it', async () => {
    for (const policy of ['fail-open', 'fail-closed'] as const) {
      const { store, limiter, events } = setup(policy);
      store.failCounters = true;
      expect(await limiter.peek(subject)).toEqual(UNLIMITED_STATE);
      expect(events.map((e) => e.operation)).toEqual(['peek']);
    }
  });

  it('answers unavailable under fail-closed', async () => {
    const { store, limiter, events } = setup('fail-closed');
    store.failLeases = true;
    expect(await limiter.admit(subject, 10)).toEqual({
      ok: false,
      reason: 'unavailable',
      state: UNLIMITED_STATE,
    });
    expect(events.map((e) => e.operation)).toEqual(['admit']);
  });

  it('gives back what a failed admit had already counted', async () => {
    const { store, limiter } = setup('fail-closed');
    store.failLeases = true;
    expect((await limiter.admit(subject, 100)).ok).toBe(false);
    await limiter.close();

    store.failLeases = false;
    const next = await limiter.admit(subject, 100);
    expect(next, JSON.stringify(next)).toMatchObject({
      ok: true,
      state: { remainingRequests: 0, remainingTokens: 0 },
    });
  });

  it('frees the slot and the counts an unanswered admit takes once a stalled backend resumes', async () => {
    for (const policy of ['fail-open', 'fail-closed'] as const) {
      const { store, limiter } = setup(policy);
      const s = { keyId: 'k', tenantId: 't', key: { rpm: 3, tpm: 100, maxConcurrency: 1 } };
      store.stall();
      const during = await limiter.admit(s, 40);
      expect(during.ok, JSON.stringify(during)).toBe(policy === 'fail-open');
      await store.resume();

      const next = await limiter.admit(s, 40);
      expect(next, `${policy}: ${JSON.stringify(next)}`).toMatchObject({
        ok: true,
        state: { remainingRequests: 2, remainingTokens: 60 },
      });
    }
  });

  it('gives back only what ran when the backend refuses one command of an admit', async () => {
    const { store, limiter } = setup('fail-open');
    const s = { keyId: 'k', tenantId: 't', key: { rpm: 3, tpm: 100 } };
    store.refusals = 1;
    expect(await limiter.admit(s, 40)).toMatchObject({ ok: true, state: UNLIMITED_STATE });
    await limiter.close();

    const next = await limiter.admit(s, 40);
    expect(next, JSON.stringify(next)).toMatchObject({
      ok: true,
      state: { remainingRequests: 2, remainingTokens: 60 },
    });
  });

  it('warns at most once per interval while every failure still reaches onBackendError', async () => {
    const { clock, store, limiter, events, warnings } = setup('fail-open');
    store.failCounters = true;
    for (let i = 0; i < 5; i++) await limiter.admit(subject, 1);
    expect(events).toHaveLength(5);
    expect(warnings).toHaveLength(1);

    clock.advance(BACKEND_WARN_INTERVAL_MS);
    await limiter.admit(subject, 1);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]?.obj).toMatchObject({ suppressedSinceLastWarning: 4 });
  });

  it('reports settle and release failures without throwing', async () => {
    const { store, limiter, events } = setup('fail-open');
    const result = await limiter.admit(subject, 50);
    if (!result.ok) throw new Error(JSON.stringify(result));
    store.failCounters = true;
    store.failLeases = true;
    await expect(result.ticket.settle(10)).resolves.toBeUndefined();
    await expect(result.ticket.release()).resolves.toBeUndefined();
    expect(events.map((e) => e.operation)).toEqual(['settle', 'release']);
  });

  it('keeps limiting when the onBackendError callback itself throws', async () => {
    const { store, limiter } = setup('fail-closed', () => {
      throw new Error('metric registry broken');
    });
    store.failCounters = true;
    expect(await limiter.admit(subject, 1)).toMatchObject({ ok: false, reason: 'unavailable' });
  });

  it('sends a release the backend refused again before the next admit, so the slot is not held until its lease expires', async () => {
    const { store, limiter, clock, events } = setup('fail-open');
    const s = { keyId: 'k', tenantId: 't', key: { maxConcurrency: 1 } };
    const first = await limiter.admit(s, 0);
    expect(first.ok).toBe(true);
    store.failLeases = true;
    if (first.ok) await first.ticket.release();
    expect(events.map((e) => e.operation)).toEqual(['release']);

    // Still down: an admit is let through uncounted (fail-open), the release stays owed.
    expect(await limiter.admit(s, 0)).toMatchObject({ ok: true, state: UNLIMITED_STATE });
    store.failLeases = false;
    clock.advance(OWED_RETRY_INTERVAL_MS);
    const second = await limiter.admit(s, 0);
    expect(second, JSON.stringify(second)).toMatchObject({ ok: true });
    // The slot is the second request's now: a third is refused, and frees once it is released.
    expect(await limiter.admit(s, 0)).toMatchObject({ ok: false, reason: 'concurrency' });
    if (second.ok) await second.ticket.release();
    expect(await limiter.admit(s, 0)).toMatchObject({ ok: true });
  });
});
