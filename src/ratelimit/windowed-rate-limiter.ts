import { randomUUID } from 'node:crypto';
import {
  type AdmissionCheck,
  type CheckOutcome,
  type CounterCheck,
  isOverLimit,
  planChecks,
  scopeId,
  stateFromOutcomes,
  toTokenCount,
  unusedExtra,
} from './admission-plan.js';
import { BackendErrorReporter } from './backend-error-reporter.js';
import { type LimitStore, UnansweredStoreError } from './limit-store.js';
import { LimitTicket, UNCOUNTED_TICKET } from './limit-ticket.js';
import { msUntilWindowReset, windowIndex } from './limit-window.js';
import { OwedReleases } from './owed-releases.js';
import {
  type AdmitResult,
  type BackendErrorEvent,
  type FailPolicy,
  type LimitState,
  type LimitSubject,
  type RateLimiter,
  type RateLimiterLogger,
  UNLIMITED_STATE,
} from './rate-limiter.js';

/** How long a concurrency slot lives if its ticket is never released (a crashed process). */
export const DEFAULT_LEASE_MS = 5 * 60_000;

/**
 * The retry hint for a concurrency rejection: slots free when other requests finish, which no
 * clock can predict, so the client is asked to come back soon.
 */
export const CONCURRENCY_RETRY_AFTER_MS = 1_000;

/** Options for {@link WindowedRateLimiter}. */
export interface WindowedRateLimiterOptions {
  store: LimitStore;
  clock: () => number;
  failPolicy: FailPolicy;
  logger: RateLimiterLogger;
  leaseMs?: number | undefined;
  onBackendError?: ((event: BackendErrorEvent) => void) | undefined;
}

/**
 * The rate limiter shared by the memory and Redis backends (see `limit-window.ts` for the
 * fixed-window choice).
 *
 * An admit sends all of its checks to the store at once (one round trip on Redis): +1 on the
 * request counters, +N on the token counters and a lease in each concurrency set, for the key and
 * the tenant. Each store operation is atomic; if any check comes back over its limit, every
 * consumption of this admit — including the one over the limit — is given back before the
 * rejection is returned, so a rejected request holds no request slot, tokens or concurrency slot.
 * Counters are never over-admitted: the increment and its result are one atomic step, so N
 * processes together admit at most the limit. The price is that, for the moment between an
 * over-limit increment and its rollback, a concurrent request can see the counter too high and be
 * rejected as well (never admitted wrongly).
 *
 * A reservation larger than the whole TPM limit can never fit; it is rejected as `tokens` with
 * `retryAfterMs` until the window resets (the same answer as any other token rejection) without
 * counting it.
 *
 * Extra tokens (an answer allowance the client did not ask for) are added with the reservation in
 * the same step, and what a limit had no room for is given back before the admit returns (one
 * more store call, only then). Each admit keeps at most what its own increment left under the
 * limit, counting every reservation before it in full, so together they never pass the limit.
 *
 * If the store fails or times out, whatever this admit consumed is given back in the background
 * and the fail policy decides: `fail-open` admits with an uncounted ticket and no limit state,
 * `fail-closed` answers `unavailable`. What a stalled store never answered is given back too: it
 * may still take effect when the store resumes, and the give-back follows it there, so a stall
 * leaves no slot held by no one and no count behind. A release the store refused (Redis down) is
 * sent again before a later admit (see OwedReleases), so the slot does not wait for its lease to
 * expire.
 */
export class WindowedRateLimiter implements RateLimiter {
  readonly #store: LimitStore;
  readonly #clock: () => number;
  readonly #failPolicy: FailPolicy;
  readonly #leaseMs: number;
  readonly #reporter: BackendErrorReporter;
  readonly #owed: OwedReleases;
  readonly #pending = new Set<Promise<void>>();

  constructor(options: WindowedRateLimiterOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#failPolicy = options.failPolicy;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#reporter = new BackendErrorReporter(options);
    this.#owed = new OwedReleases(this.#store, this.#clock, this.#leaseMs);
  }

  async admit(subject: LimitSubject, reserveTokens: number, extraTokens = 0): Promise<AdmitResult> {
    const now = this.#clock();
    const window = windowIndex(now);
    const tokens = toTokenCount(reserveTokens);
    const extra = toTokenCount(extraTokens);
    const checks = planChecks(subject, tokens, window, extra);
    if (checks.length === 0) return { ok: true, state: UNLIMITED_STATE, ticket: UNCOUNTED_TICKET };

    const leaseId = checks.some((check) => check.kind === 'lease') ? randomUUID() : '';
    // Slots whose release the store refused go back first, so this admit already sees them free.
    this.#owed.retry();
    const results = await Promise.allSettled(
      checks.map((check) => this.#apply(check, leaseId, now)),
    );
    const outcomes: CheckOutcome[] = [];
    let backendError: { reason: unknown } | null = null;
    for (const result of results) {
      if (result.status === 'fulfilled') outcomes.push(result.value);
      else backendError ??= { reason: result.reason };
    }

    if (backendError) {
      this.#inBackground(this.#undo(outcomes, leaseId));
      this.#reporter.report('admit', backendError.reason);
      return this.#failPolicy === 'fail-open'
        ? { ok: true, state: UNLIMITED_STATE, ticket: UNCOUNTED_TICKET }
        : { ok: false, reason: 'unavailable', state: UNLIMITED_STATE };
    }

    const over = outcomes.filter(isOverLimit);
    const first = over[0];
    if (first) {
      await this.#undo(outcomes, leaseId);
      const windowRetryMs = msUntilWindowReset(now);
      const retryAfterMs = Math.max(
        ...over.map((o) => (o.kind === 'lease' ? CONCURRENCY_RETRY_AFTER_MS : windowRetryMs)),
      );
      return {
        ok: false,
        reason: first.kind === 'lease' ? 'concurrency' : first.check.reason,
        scope: first.check.scope,
        retryAfterMs,
        state: stateFromOutcomes(outcomes, now, true),
      };
    }

    const tokenChecks = checks.filter(
      (check): check is CounterCheck => check.kind === 'counter' && check.reason === 'tokens',
    );
    const unused = unusedExtra(outcomes);
    if (unused > 0) await this.#giveBackUnused(tokenChecks, unused);
    const held = unused > 0 ? withoutUnused(outcomes, unused) : outcomes;
    const ticket = new LimitTicket(
      { store: this.#store, owed: this.#owed, clock: this.#clock, reporter: this.#reporter },
      {
        window,
        reservedTokens: tokenChecks.length > 0 ? tokens + extra - unused : 0,
        tokenScopes: tokenChecks.map((check) => scopeId(subject, check.scope)),
        leaseKeys: checks.filter((check) => check.kind === 'lease').map((check) => check.key),
        leaseId,
      },
    );
    return { ok: true, state: stateFromOutcomes(held, now, false), ticket };
  }

  async peek(subject: LimitSubject): Promise<LimitState> {
    const now = this.#clock();
    // A 0-token plan reads the token counters as it reads the request counters: adding nothing.
    const counters = planChecks(subject, 0, windowIndex(now)).filter(
      (check) => check.kind === 'counter',
    );
    if (counters.length === 0) return UNLIMITED_STATE;
    try {
      const reads = counters.map(async (check): Promise<CheckOutcome> => {
        return { kind: 'counter', check, total: await this.#store.add(check.key, 0) };
      });
      return stateFromOutcomes(await Promise.all(reads), now, false);
    } catch (err) {
      this.#reporter.report('peek', err);
      return UNLIMITED_STATE;
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
    await this.#store.close();
  }

  async #apply(check: AdmissionCheck, leaseId: string, now: number): Promise<CheckOutcome> {
    try {
      if (check.kind === 'counter') {
        return { kind: 'counter', check, total: await this.#store.add(check.key, check.points) };
      }
      const acquired = await this.#store.acquireLease(
        check.key,
        leaseId,
        check.max,
        now,
        this.#leaseMs,
      );
      return { kind: 'lease', check, acquired };
    } catch (err) {
      // Unanswered, the operation may still land (a Redis that stalls runs it when it resumes),
      // taking a slot no ticket will release before its lease expires, or points no admit holds.
      // The give-back is sent now, before the event loop turns, so the store runs it after the
      // operation, never before it.
      if (err instanceof UnansweredStoreError) this.#inBackground(this.#giveBack([check], leaseId));
      throw err;
    }
  }

  /** Gives back everything an admit consumed. */
  #undo(outcomes: readonly CheckOutcome[], leaseId: string): Promise<void> {
    const consumed: AdmissionCheck[] = [];
    for (const outcome of outcomes) {
      if (outcome.kind === 'counter' || outcome.acquired) consumed.push(outcome.check);
    }
    return this.#giveBack(consumed, leaseId);
  }

  /**
   * Gives back what `checks` took (their points, their slot under `leaseId`); every store call is
   * made before this returns. Failures are reported, never thrown.
   */
  async #giveBack(checks: readonly AdmissionCheck[], leaseId: string): Promise<void> {
    const undos: Promise<unknown>[] = [];
    for (const check of checks) {
      if (check.kind === 'lease') undos.push(this.#owed.release(check.key, leaseId));
      else if (check.points > 0) undos.push(this.#store.add(check.key, -check.points));
    }
    for (const result of await Promise.allSettled(undos)) {
      if (result.status === 'rejected') this.#reporter.report('rollback', result.reason);
    }
  }

  /**
   * Gives back the extra tokens the limits had no room for, on every token counter. A give-back
   * the store refuses leaves the counter that much too high for the rest of the window (a request
   * may be refused too soon, none admitted wrongly); it is reported, never thrown.
   */
  async #giveBackUnused(tokenChecks: readonly CounterCheck[], unused: number): Promise<void> {
    const results = await Promise.allSettled(
      tokenChecks.map((check) => this.#store.add(check.key, -unused)),
    );
    for (const result of results) {
      if (result.status === 'rejected') this.#reporter.report('rollback', result.reason);
    }
  }

  #inBackground(work: Promise<void>): void {
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }
}

/** The outcomes as the counters stand once `unused` extra tokens went back on each token counter. */
function withoutUnused(outcomes: readonly CheckOutcome[], unused: number): CheckOutcome[] {
  return outcomes.map((outcome) =>
    outcome.kind === 'counter' && outcome.check.reason === 'tokens'
      ? { ...outcome, total: outcome.total - unused }
      : outcome,
  );
}
