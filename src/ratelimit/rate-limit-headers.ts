import type { LimitState } from './rate-limiter.js';

const MS_PER_SECOND = 1_000;
const MS_PER_MINUTE = 60_000;
const MS_PER_HOUR = 3_600_000;

/**
 * A duration as OpenAI writes it in `x-ratelimit-reset-*`, which is Go's `time.Duration` string:
 * under a second in milliseconds (`20ms`, `0s` for zero), otherwise `[<h>h][<m>m]<s>[.<frac>]s`
 * with the fraction's trailing zeros dropped and lower units kept once a higher one is shown
 * (`1s`, `1.5s`, `6m0s`, `1m30.5s`, `1h0m0s`). Fractions of a millisecond round up.
 */
export function formatResetDuration(ms: number): string {
  const total = Number.isFinite(ms) && ms > 0 ? Math.ceil(ms) : 0;
  if (total === 0) return '0s';
  if (total < MS_PER_SECOND) return `${total}ms`;
  const hours = Math.floor(total / MS_PER_HOUR);
  const minutes = Math.floor((total % MS_PER_HOUR) / MS_PER_MINUTE);
  const secondsMs = total % MS_PER_MINUTE;
  const wholeSeconds = Math.floor(secondsMs / MS_PER_SECOND);
  const fraction = String(secondsMs % MS_PER_SECOND)
    .padStart(3, '0')
    .replace(/0+$/, '');
  const seconds = fraction ? `${wholeSeconds}.${fraction}s` : `${wholeSeconds}s`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${minutes}m${seconds}`;
  return seconds;
}

/**
 * OpenAI's six `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` headers for a limit state.
 * A dimension whose limit is null (unlimited) gets no headers at all.
 */
export function rateLimitHeaders(state: LimitState): Record<string, string> {
  const headers: Record<string, string> = {};
  const dimensions = [
    ['requests', state.limitRequests, state.remainingRequests, state.resetRequestsMs],
    ['tokens', state.limitTokens, state.remainingTokens, state.resetTokensMs],
  ] as const;
  for (const [name, limit, remaining, resetMs] of dimensions) {
    if (limit === null) continue;
    headers[`x-ratelimit-limit-${name}`] = String(limit);
    if (remaining !== null) headers[`x-ratelimit-remaining-${name}`] = String(remaining);
    if (resetMs !== null) headers[`x-ratelimit-reset-${name}`] = formatResetDuration(resetMs);
  }
  return headers;
}

/** The `retry-after` header value: whole seconds, rounded up, at least 1. */
export function retryAfterSeconds(ms: number): string {
  const seconds = Number.isFinite(ms) ? Math.ceil(ms / MS_PER_SECOND) : 1;
  return String(Math.max(1, seconds));
}
