import { tokenCounterKey, toTokenCount } from './admission-plan.js';
import type { BackendErrorReporter } from './backend-error-reporter.js';
import type { LimitStore } from './limit-store.js';
import { windowIndex } from './limit-window.js';
import type { OwedReleases } from './owed-releases.js';
import type { Ticket } from './rate-limiter.js';

/** A ticket that holds nothing: for unlimited subjects, the no-op limiter and fail-open admits. */
export const UNCOUNTED_TICKET: Ticket = Object.freeze({
  reservedTokens: 0,
  holdsSlot: false,
  settle: async (): Promise<void> => {},
  release: async (): Promise<void> => {},
});

/** What an admitted request holds: its token reservation and its concurrency leases. */
export interface Reservation {
  /** The window the tokens were reserved in. */
  window: number;
  reservedTokens: number;
  /** Scope ids (`k:<keyId>`, `t:<tenantId>`) whose token counters hold the reservation. */
  tokenScopes: string[];
  /** Lease set keys holding `leaseId`. */
  leaseKeys: string[];
  leaseId: string;
}

/** The dependencies a ticket gives its reservation back through. */
export interface LimitTicketDeps {
  store: LimitStore;
  /** Releases slots, keeping the ones the store refused to send again. */
  owed: OwedReleases;
  clock: () => number;
  reporter: BackendErrorReporter;
}

/**
 * An admitted request's reservation. `settle` and `release` each act once; later calls do nothing.
 * Backend failures are reported, never thrown.
 */
export class LimitTicket implements Ticket {
  readonly reservedTokens: number;
  readonly holdsSlot: boolean;
  readonly #deps: LimitTicketDeps;
  readonly #reservation: Reservation;
  #settled = false;
  #released = false;

  constructor(deps: LimitTicketDeps, reservation: Reservation) {
    this.#deps = deps;
    this.#reservation = reservation;
    this.reservedTokens = reservation.reservedTokens;
    this.holdsSlot = reservation.leaseKeys.length > 0;
  }

  /**
   * Refunds unused tokens, or charges extra usage to the current window. A refund after the
   * reservation's window has ended is dropped: the old window no longer limits anything, and
   * crediting the new window would let a client exceed its limit there.
   */
  async settle(actualTokens: number): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    const { window, tokenScopes } = this.#reservation;
    const delta = toTokenCount(actualTokens) - this.reservedTokens;
    if (delta === 0 || tokenScopes.length === 0) return;
    const currentWindow = windowIndex(this.#deps.clock());
    if (delta < 0 && currentWindow !== window) return;
    const results = await Promise.allSettled(
      tokenScopes.map((scope) =>
        this.#deps.store.add(tokenCounterKey(scope, currentWindow), delta),
      ),
    );
    this.#reportFailures('settle', results);
  }

  /** Frees the concurrency slots; safe to call more than once. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const { leaseKeys, leaseId } = this.#reservation;
    if (leaseKeys.length === 0) return;
    const results = await Promise.allSettled(
      leaseKeys.map((key) => this.#deps.owed.release(key, leaseId)),
    );
    this.#reportFailures('release', results);
  }

  #reportFailures(operation: 'settle' | 'release', results: PromiseSettledResult<unknown>[]): void {
    for (const result of results) {
      if (result.status === 'rejected') this.#deps.reporter.report(operation, result.reason);
    }
  }
}
