import type { UpstreamFailure } from './upstream-failure.js';

/** The retry policy of upstream calls. */
export interface RetryPolicy {
  maxRetries: number;
  baseMs: number;
  maxMs: number;
}

/**
 * How long to wait before retry number `attempt` (0-based): the provider's `retry-after` when it
 * gave one, else jittered exponential backoff. Null when the provider asks for a longer pause than
 * the policy allows: a fallback serves the client better than waiting.
 */
export function backoffMs(
  policy: RetryPolicy,
  attempt: number,
  failure: UpstreamFailure,
  random: () => number,
): number | null {
  const d = failure.detail;
  if (d.kind === 'status' && d.retryAfterMs !== null) {
    return d.retryAfterMs > policy.maxMs ? null : Math.max(d.retryAfterMs, 0);
  }
  const exp = backoffStepMs(policy, attempt);
  return exp / 2 + (random() * exp) / 2;
}

/**
 * The top of the backoff step before retry number `attempt` (0-based), without jitter:
 * `baseMs · 2^attempt`, at most `maxMs`. The wait itself is drawn from its upper half.
 */
export function backoffStepMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
}
