import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/http/errors.js';
import { upstreamError } from '../../src/http/upstream-error.js';
import type { FailureDetail } from '../../src/upstream/upstream-failure.js';
import {
  parseRetryAfter,
  scrubSecrets,
  UpstreamFailure,
} from '../../src/upstream/upstream-failure.js';

const failureToError = (detail: FailureDetail, secrets: string[]) =>
  upstreamError(new UpstreamFailure(detail), secrets);

describe('upstream error handling', () => {
  it('reads retry-after-ms, retry-after seconds and retry-after dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250' }), now)).toBe(250);
    expect(parseRetryAfter(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(
      parseRetryAfter(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now),
    ).toBe(3000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });

  it('removes configured secrets and anything shaped like a provider key', () => {
    expect(scrubSecrets('bad key sk-live-abcdef123456 and mysecretvalue', ['mysecretvalue'])).toBe(
      'bad key sk-[redacted] and [redacted]',
    );
  });

  it('passes a 429 through with its retry-after in whole seconds', () => {
    const err = failureToError(
      { kind: 'status', status: 429, body: { error: { message: 'slow' } }, retryAfterMs: 1200 },
      [],
    );
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(429);
    expect((err as GatewayError).headers['retry-after']).toBe('2');
    expect((err as GatewayError).body()).toEqual({ error: { message: 'slow' } });
  });

  it('maps upstream 5xx to 502 and timeouts to 504', () => {
    expect(
      (
        failureToError(
          { kind: 'status', status: 503, body: undefined, retryAfterMs: null },
          [],
        ) as GatewayError
      ).status,
    ).toBe(502);
    expect((failureToError({ kind: 'timeout', phase: 'total' }, []) as GatewayError).status).toBe(
      504,
    );
  });

  it('is an Error that names what failed', () => {
    const failure = new UpstreamFailure({ kind: 'timeout', phase: 'idle' });
    expect(failure).toBeInstanceOf(Error);
    expect(failure.message).toBe('upstream idle timeout');
  });
});
