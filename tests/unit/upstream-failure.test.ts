import { APIConnectionError, APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/http/errors.js';
import { upstreamError } from '../../src/http/upstream-error.js';
import type { FailureDetail } from '../../src/upstream/upstream-failure.js';
import {
  classifyFailure,
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

  it("names why a call failed in the gateway's words, never with the upstream's text", () => {
    const ctx = { clientAborted: false, shutDown: false, timeout: null, nowMs: 0 };
    const PROVIDER_TEXT = 'text-the-provider-wrote';
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
      code: 'ECONNREFUSED',
    });
    const cases = [
      [new APIConnectionError({ cause: refused }), 'connection refused'],
      [
        new SyntaxError(`Unexpected token '${PROVIDER_TEXT}' is not valid JSON`),
        'body is not JSON',
      ],
      [
        new APIError(undefined, { message: PROVIDER_TEXT }, undefined, new Headers()),
        'error event in the stream',
      ],
      [new Error('something odd'), 'connection failed'],
    ] as const;
    for (const [err, reason] of cases) {
      const failure = classifyFailure(err, ctx);
      expect(failure.reason, String(err)).toBe(reason);
      // The message names the failure in traces: the provider's words stay out of it too.
      expect(failure.message, String(err)).not.toContain(PROVIDER_TEXT);
    }
    expect(new UpstreamFailure({ kind: 'timeout', phase: 'first-byte' }).reason).toBe(
      'first-byte timeout',
    );
  });
});
