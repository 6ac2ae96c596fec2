import { msUntilWindowReset } from './limit-window.js';
import type { LimitScope, LimitSpec, LimitState, LimitSubject } from './rate-limiter.js';

/** One windowed counter an admit adds to: a request (1 point) or a token reservation. */
export interface CounterCheck {
  kind: 'counter';
  reason: 'requests' | 'tokens';
  scope: LimitScope;
  key: string;
  points: number;
  /**
   * Of `points`, the tokens wanted only as far as the limit leaves room (an answer allowance the
   * client did not ask for): what the limit has no room for is given back at once. 0 for requests.
   */
  extra: number;
  limit: number;
  /** The reservation alone exceeds the whole limit: counted as 0 (to read state) and rejected. */
  oversized: boolean;
}

/** One concurrency lease set an admit takes a slot in. */
export interface LeaseCheck {
  kind: 'lease';
  scope: LimitScope;
  key: string;
  max: number;
}

/** Everything one admit checks, in the order a rejection reason is chosen. */
export type AdmissionCheck = CounterCheck | LeaseCheck;

/** What the backend answered for one check. */
export type CheckOutcome =
  | { kind: 'counter'; check: CounterCheck; total: number }
  | { kind: 'lease'; check: LeaseCheck; acquired: boolean };

/** The largest token count held: more than any limit can allow (limits are 32-bit integers). */
export const MAX_TOKEN_COUNT = 2 ** 31 - 1;

/**
 * A whole, non-negative token count, at most MAX_TOKEN_COUNT. Fractions round up; negative and
 * NaN counts are 0; an overflowing count (Infinity) is the cap, never 0, so asking for more than a
 * limit can hold is refused instead of admitted for free.
 */
export function toTokenCount(tokens: number): number {
  if (!(tokens > 0)) return 0;
  return Math.min(MAX_TOKEN_COUNT, Math.ceil(tokens));
}

/** A limit as a whole number, or null when unlimited (absent, null or not finite). */
export function normalizeLimit(limit: number | null | undefined): number | null {
  if (limit === null || limit === undefined || !Number.isFinite(limit)) return null;
  return Math.max(0, Math.floor(limit));
}

/** The backend key of a scope's token counter in one window. */
export function tokenCounterKey(scopeId: string, window: number): string {
  return `${scopeId}:t:${window}`;
}

/** The backend key prefix of a scope: `k:<keyId>` or `t:<tenantId>`. */
export function scopeId(subject: LimitSubject, scope: LimitScope): string {
  return scope === 'key' ? `k:${subject.keyId}` : `t:${subject.tenantId}`;
}

/**
 * Lists the checks for one admit: requests, then tokens, then concurrency, key before tenant.
 * A 0-token reservation still adds 0 to the token counters, which reads them for the headers.
 * `extraTokens` are added to the token counters with `tokens`, to be given back as far as a
 * limit has no room for them (see unusedExtra).
 */
export function planChecks(
  subject: LimitSubject,
  tokens: number,
  window: number,
  extraTokens = 0,
): AdmissionCheck[] {
  const scopes: Array<{ scope: LimitScope; spec: LimitSpec }> = [
    { scope: 'key', spec: subject.key },
  ];
  if (subject.tenant) scopes.push({ scope: 'tenant', spec: subject.tenant });
  const checks: AdmissionCheck[] = [];
  for (const { scope, spec } of scopes) {
    const limit = normalizeLimit(spec.rpm);
    if (limit === null) continue;
    const key = `${scopeId(subject, scope)}:r:${window}`;
    checks.push({
      kind: 'counter',
      reason: 'requests',
      scope,
      key,
      points: 1,
      extra: 0,
      limit,
      oversized: false,
    });
  }
  for (const { scope, spec } of scopes) {
    const limit = normalizeLimit(spec.tpm);
    if (limit === null) continue;
    const key = tokenCounterKey(scopeId(subject, scope), window);
    const oversized = tokens > limit;
    const extra = oversized ? 0 : extraTokens;
    const points = oversized ? 0 : tokens + extra;
    checks.push({ kind: 'counter', reason: 'tokens', scope, key, points, extra, limit, oversized });
  }
  for (const { scope, spec } of scopes) {
    const max = normalizeLimit(spec.maxConcurrency);
    if (max === null) continue;
    checks.push({ kind: 'lease', scope, key: `${scopeId(subject, scope)}:c`, max });
  }
  return checks;
}

/**
 * True when this outcome turns the request away: its points, less the extra ones, do not fit. A
 * 0-token reservation (extra tokens aside) never fails on tokens.
 */
export function isOverLimit(outcome: CheckOutcome): boolean {
  if (outcome.kind === 'lease') return !outcome.acquired;
  const { check, total } = outcome;
  const firm = check.points - check.extra;
  return check.oversized || (firm > 0 && total - check.extra > check.limit);
}

/**
 * Of the extra tokens an admitted request added, how many its tightest limit has no room for: the
 * most any of its counters went over, at most the extra. They are given back on every token
 * counter alike, so the request holds one reservation, which fits under each limit.
 */
export function unusedExtra(outcomes: readonly CheckOutcome[]): number {
  let unused = 0;
  for (const outcome of outcomes) {
    if (outcome.kind !== 'counter' || outcome.check.extra === 0) continue;
    const over = Math.max(0, outcome.total - outcome.check.limit);
    unused = Math.max(unused, Math.min(outcome.check.extra, over));
  }
  return unused;
}

/**
 * The headers' view of the counters: per dimension, the scope with the fewest remaining.
 * `rolledBack` reports the counts as they are after a rejected admit gave its points back.
 */
export function stateFromOutcomes(
  outcomes: readonly CheckOutcome[],
  nowMs: number,
  rolledBack: boolean,
): LimitState {
  const resetMs = msUntilWindowReset(nowMs);
  let requests: { limit: number; remaining: number } | null = null;
  let tokens: { limit: number; remaining: number } | null = null;
  for (const outcome of outcomes) {
    if (outcome.kind !== 'counter') continue;
    const { check, total } = outcome;
    const used = rolledBack ? total - check.points : total;
    const candidate = { limit: check.limit, remaining: Math.max(0, check.limit - used) };
    if (check.reason === 'requests') {
      if (requests === null || candidate.remaining < requests.remaining) requests = candidate;
    } else if (tokens === null || candidate.remaining < tokens.remaining) {
      tokens = candidate;
    }
  }
  return {
    limitRequests: requests?.limit ?? null,
    remainingRequests: requests?.remaining ?? null,
    resetRequestsMs: requests ? resetMs : null,
    limitTokens: tokens?.limit ?? null,
    remainingTokens: tokens?.remaining ?? null,
    resetTokensMs: tokens ? resetMs : null,
  };
}
