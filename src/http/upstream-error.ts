import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isRecord } from '../runtime/is-record.js';
import type { UpstreamFailure } from '../upstream/upstream-failure.js';
import { scrubSecrets } from '../upstream/upstream-failure.js';
import { ClientClosedError, GatewayError } from './errors.js';

/** The wait a passed-through 429 names when neither the upstream nor a router gave one. */
const FALLBACK_RETRY_AFTER_MS = 1_000;

/**
 * Turns the last upstream failure into the error the client sees (or the note that it left).
 * Upstream credentials never reach the client: 401/403 become a 502 of our own words, and a
 * passed-through body is scrubbed of every configured secret.
 */
export function upstreamError(
  failure: UpstreamFailure,
  secrets: readonly string[],
): GatewayError | ClientClosedError {
  const error = toClientError(failure, secrets);
  // One retry budget per client request: when the gateway already retried, or spent the whole
  // call's time (UPSTREAM_TIMEOUT_MS), the client's SDK is told not to multiply the calls or the
  // wait (openai-node and openai-python honour x-should-retry). Not after a shutdown's 503: the
  // retry goes to another instance.
  const detail = failure.detail;
  const spent = detail.kind === 'timeout' && detail.phase === 'total';
  const retried = failure.attempts > 1 && detail.kind !== 'shutting-down';
  if (error instanceof GatewayError && (retried || spent)) {
    error.headers['x-should-retry'] = 'false';
  }
  return error;
}

function toClientError(
  failure: UpstreamFailure,
  secrets: readonly string[],
): GatewayError | ClientClosedError {
  const f = failure.detail;
  switch (f.kind) {
    case 'client-closed':
      return new ClientClosedError();
    case 'shutting-down':
      return GatewayError.shuttingDown();
    case 'timeout':
      return GatewayError.upstreamTimeout();
    case 'connection':
      return GatewayError.upstreamFailed('Could not get an answer from the upstream provider.');
    case 'status': {
      if (f.status === 401 || f.status === 403) {
        return GatewayError.upstreamFailed(
          'The upstream provider rejected the gateway credentials.',
        );
      }
      if (f.status >= 500 || f.status === 408 || f.status === 409) {
        return GatewayError.upstreamFailed(`The upstream provider failed with status ${f.status}.`);
      }
      const rawBody =
        f.body === undefined
          ? {
              error: {
                message: `The upstream provider answered with status ${f.status}.`,
                type: 'upstream_error',
                param: null,
                code: null,
              },
            }
          : JSON.parse(scrubSecrets(JSON.stringify(f.body), secrets));
      const headers: Record<string, string> = {};
      if (f.status === 429) {
        // Every 429 says when to come back: the upstream's own word, else the next step of the
        // gateway's backoff (a 429 without one, such as `insufficient_quota`, waited out as the
        // gateway itself would have waited).
        const waitMs = f.retryAfterMs ?? failure.nextBackoffMs ?? FALLBACK_RETRY_AFTER_MS;
        headers['retry-after'] = String(Math.max(1, Math.ceil(waitMs / 1000)));
        headers['retry-after-ms'] = String(Math.ceil(waitMs));
      }
      return new GatewayError({
        status: f.status as ContentfulStatusCode,
        message: 'upstream error',
        type: 'upstream_error',
        code: passedCode(rawBody),
        headers,
        rawBody,
      });
    }
  }
}

/** An error code as the access log and the row keep it: a short token, nothing else. */
const CODE_TOKEN = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * The error code of a passed-through upstream body, as the access log and the interaction row
 * report it: OpenAI's `error.code`, else its `error.type`, else `upstream_error` (also when the
 * field is not a short token: the upstream's text never becomes a code).
 */
function passedCode(body: unknown): string {
  const error = isRecord(body) ? body.error : undefined;
  if (!isRecord(error)) return 'upstream_error';
  for (const field of [error.code, error.type]) {
    if (typeof field === 'string' && CODE_TOKEN.test(field)) return field;
  }
  return 'upstream_error';
}
