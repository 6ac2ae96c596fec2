import { type LimitStore, UnansweredStoreError } from './limit-store.js';

/** Most refused releases kept to send again; beyond it the oldest are left to their lease expiry. */
export const MAX_OWED_RELEASES = 10_000;
/** Least time between two attempts to send the owed releases again. */
export const OWED_RETRY_INTERVAL_MS = 1_000;

interface Owed {
  key: string;
  leaseId: string;
  /** When the store first refused it. */
  at: number;
}

/**
 * Releases of concurrency slots, and the ones the store refused (a Redis connection that was
 * down): refused, a slot stays taken in the store until its lease expires (5 minutes), so a key
 * whose `max_concurrency` such slots fill would be refused that long after the store is back.
 * The limiter calls `retry` before each admit sends its checks, so the owed releases reach the
 * store ahead of the admit (on one Redis connection, commands run in the order sent) and it sees
 * those slots free. A release refused again stays owed; an unanswered one is not owed (the store
 * still runs it); one owed for longer than a lease lives is dropped (the slot has expired).
 * Releasing a lease twice is harmless, so a retry never frees a slot someone else holds.
 */
export class OwedReleases {
  readonly #store: LimitStore;
  readonly #clock: () => number;
  readonly #leaseMs: number;
  readonly #owed = new Map<string, Owed>();
  #lastRetry = Number.NEGATIVE_INFINITY;

  constructor(store: LimitStore, clock: () => number, leaseMs: number) {
    this.#store = store;
    this.#clock = clock;
    this.#leaseMs = leaseMs;
  }

  /** Releases owed, not yet sent again. */
  get size(): number {
    return this.#owed.size;
  }

  /** Releases `leaseId` from `key`; a refusal is owed, and thrown for the caller to report. */
  release(key: string, leaseId: string): Promise<void> {
    return this.#send({ key, leaseId, at: this.#clock() });
  }

  /**
   * Sends the owed releases again, at most once per OWED_RETRY_INTERVAL_MS; every store call is
   * made before this returns. Their failures were reported when first refused and are not again.
   */
  retry(): void {
    if (this.#owed.size === 0) return;
    const now = this.#clock();
    if (now - this.#lastRetry < OWED_RETRY_INTERVAL_MS) return;
    this.#lastRetry = now;
    const owed = [...this.#owed.values()];
    this.#owed.clear();
    for (const release of owed) {
      if (now - release.at < this.#leaseMs) this.#send(release).catch(() => {});
    }
  }

  async #send(release: Owed): Promise<void> {
    try {
      await this.#store.releaseLease(release.key, release.leaseId);
    } catch (err) {
      if (!(err instanceof UnansweredStoreError)) this.#owe(release);
      throw err;
    }
  }

  #owe(release: Owed): void {
    if (this.#owed.size >= MAX_OWED_RELEASES) {
      const oldest = this.#owed.keys().next();
      if (!oldest.done) this.#owed.delete(oldest.value);
    }
    this.#owed.set(`${release.key}\n${release.leaseId}`, release);
  }
}
