import { describe, expect, it } from 'vitest';
import {
  formatResetDuration,
  rateLimitHeaders,
  retryAfterSeconds,
} from '../../src/ratelimit/rate-limit-headers.js';
import { UNLIMITED_STATE } from '../../src/ratelimit/rate-limiter.js';

describe('formatResetDuration', () => {
  it.each([
    [0, '0s'],
    [1, '1ms'],
    [20, '20ms'],
    [60, '60ms'],
    [999, '999ms'],
    [1_000, '1s'],
    [1_500, '1.5s'],
    [7_660, '7.66s'],
    [59_999, '59.999s'],
    [60_000, '1m0s'],
    [90_500, '1m30.5s'],
    [360_000, '6m0s'],
    [383_456, '6m23.456s'],
    [3_600_000, '1h0m0s'],
    [3_723_004, '1h2m3.004s'],
  ])('writes %i ms as %s, like OpenAI', (ms, expected) => {
    expect(formatResetDuration(ms)).toBe(expected);
  });

  it('rounds fractions of a millisecond up and treats negative or invalid durations as 0s', () => {
    expect(formatResetDuration(0.2)).toBe('1ms');
    expect(formatResetDuration(-5)).toBe('0s');
    expect(formatResetDuration(Number.NaN)).toBe('0s');
  });
});

describe('rateLimitHeaders', () => {
  it('writes all six OpenAI headers for a key limited on requests and tokens', () => {
    expect(
      rateLimitHeaders({
        limitRequests: 60,
        remainingRequests: 59,
        resetRequestsMs: 1_000,
        limitTokens: 150_000,
        remainingTokens: 149_984,
        resetTokensMs: 360_000,
      }),
    ).toEqual({
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-limit-tokens': '150000',
      'x-ratelimit-remaining-tokens': '149984',
      'x-ratelimit-reset-tokens': '6m0s',
    });
  });

  it('omits the headers of an unlimited dimension', () => {
    expect(
      rateLimitHeaders({
        ...UNLIMITED_STATE,
        limitTokens: 1_000,
        remainingTokens: 0,
        resetTokensMs: 45_000,
      }),
    ).toEqual({
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '45s',
    });
    expect(rateLimitHeaders(UNLIMITED_STATE)).toEqual({});
  });
});

describe('retryAfterSeconds', () => {
  it.each([
    [1, '1'],
    [0, '1'],
    [-100, '1'],
    [999, '1'],
    [1_000, '1'],
    [1_001, '2'],
    [45_000, '45'],
    [59_999.5, '60'],
  ])('turns %d ms into retry-after %s (whole seconds, rounded up, at least 1)', (ms, expected) => {
    expect(retryAfterSeconds(ms)).toBe(expected);
  });
});
