/**
 * Limits for one subject (an API key or a tenant). `null` or absent means unlimited.
 * A limit of 0 admits nothing of that kind (except that a 0-token request never fails `tpm`).
 */
export interface LimitSpec {
  /** Requests per minute. */
  rpm?: number | null;
  /** Tokens per minute (reserved before the upstream call, settled after it). */
  tpm?: number | null;
  /** Requests in flight at the same time. */
  maxConcurrency?: number | null;
}

/** Who a request is counted against: always its key, and its tenant when `tenant` limits are set. */
export interface LimitSubject {
  keyId: string;
  tenantId: string;
  key: LimitSpec;
  tenant?: LimitSpec;
}

/**
 * What the client is told in OpenAI's `x-ratelimit-*` headers. A `null` limit means unlimited (the
 * header is omitted). When both key and tenant limit a dimension, the one with fewer remaining wins.
 */
export interface LimitState {
  limitRequests: number | null;
  remainingRequests: number | null;
  resetRequestsMs: number | null;
  limitTokens: number | null;
  remainingTokens: number | null;
  resetTokensMs: number | null;
}

/** Which limit turned a request away. */
export type LimitReason = 'requests' | 'tokens' | 'concurrency';

/** Whether the key's own limit or its tenant's limit turned a request away. */
export type LimitScope = 'key' | 'tenant';

/**
 * The outcome of {@link RateLimiter.admit}. A rejection consumed nothing: whatever the admit had
 * already counted (a request slot, tokens, a concurrency slot) is given back before it returns.
 * `unavailable` only happens when the backend fails under the `fail-closed` policy.
 */
export type AdmitResult =
  | { ok: true; state: LimitState; ticket: Ticket }
  | {
      ok: false;
      reason: LimitReason;
      scope: LimitScope;
      retryAfterMs: number;
      state: LimitState;
    }
  | { ok: false; reason: 'unavailable'; state: LimitState };

/**
 * One admitted request's hold on the limits. Neither method ever throws or waits longer than the
 * backend timeout; backend failures are logged and reported instead.
 */
export interface Ticket {
  /** Tokens this ticket holds against the TPM limits (0 for unlimited, no-op or fail-open admits). */
  readonly reservedTokens: number;
  /**
   * Whether the ticket holds a concurrency slot, which `release` frees: the gateway then holds the
   * answer's last byte until the release is acknowledged (see the `after` step). False for
   * subjects without a `maxConcurrency`, the no-op limiter and fail-open admits.
   */
  readonly holdsSlot: boolean;
  /**
   * Replaces the reservation with the real usage: refunds the difference or charges the extra.
   * Call `settle(0)` when the upstream call failed. Only the first call counts.
   */
  settle(actualTokens: number): Promise<void>;
  /**
   * Frees the concurrency slot; resolves once the backend has acknowledged it (or it failed and
   * was reported), so every admit that reaches the backend afterwards, through any process, finds
   * the slot free. Idempotent: a second call does nothing.
   */
  release(): Promise<void>;
}

/** The rate-limiting service the gateway's rate-limit stage calls. */
export interface RateLimiter {
  /**
   * Counts one request and reserves `reserveTokens` tokens (prompt estimate + max_tokens; 0 for a
   * cache hit) and a concurrency slot, for the key and the tenant, or rejects without consuming.
   * `extraTokens` more (an answer allowance the client did not ask for) are reserved as far as the
   * TPM limits leave room in the window, none when they leave none: only `reserveTokens` has to
   * fit. The ticket's `reservedTokens` says how many were reserved in all.
   */
  admit(subject: LimitSubject, reserveTokens: number, extraTokens?: number): Promise<AdmitResult>;
  /**
   * The subject's current state, for the headers of an answer that is not counted (a model list,
   * a stored conversation): nothing is consumed. Never throws; a failing backend reads as unlimited.
   */
  peek(subject: LimitSubject): Promise<LimitState>;
  /** Waits for pending backend work and frees what the limiter owns. */
  close(): Promise<void>;
}

/** What to do when the backend (Redis) fails or times out: admit anyway, or answer `unavailable`. */
export type FailPolicy = 'fail-open' | 'fail-closed';

/** The slice of a pino logger the limiter uses. */
export interface RateLimiterLogger {
  warn(obj: object, msg: string): void;
}

/** Passed to `onBackendError` for every failed or timed-out backend operation (wire it to a metric). */
export interface BackendErrorEvent {
  operation: 'admit' | 'peek' | 'rollback' | 'settle' | 'release';
  error: unknown;
}

/** State for a subject with no limits (and for no-op, fail-open and unavailable answers). */
export const UNLIMITED_STATE: LimitState = Object.freeze({
  limitRequests: null,
  remainingRequests: null,
  resetRequestsMs: null,
  limitTokens: null,
  remainingTokens: null,
  resetTokensMs: null,
});
