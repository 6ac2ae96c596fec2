import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { ClientClosedError, GatewayError } from '../http/errors.js';

/** What went wrong in one upstream attempt, as far as retry and fallback care. */
export type UpstreamFailure =
  | { kind: 'client-closed' }
  | { kind: 'timeout'; phase: 'first-byte' | 'total' }
  | { kind: 'connection'; message: string }
  | { kind: 'status'; status: number; body: unknown; retryAfterMs: number | null };

/** Marks an abort caused by one of the gateway's own timers. */
export class UpstreamTimeout extends Error {
  constructor(readonly phase: 'first-byte' | 'total') {
    super(`upstream ${phase} timeout`);
    this.name = 'UpstreamTimeout';
  }
}

/** Reads `retry-after-ms` or `retry-after` (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(headers: Headers | undefined, nowMs: number): number | null {
  if (!headers) return null;
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers.get('retry-after');
  if (!raw) return null;
  const seconds = Number.parseFloat(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - nowMs) : null;
}

/** Sorts an error thrown by one attempt into a failure the router can act on. */
export function classifyFailure(
  err: unknown,
  ctx: { clientAborted: boolean; timeout: UpstreamTimeout | null; nowMs: number },
): UpstreamFailure {
  if (ctx.clientAborted) return { kind: 'client-closed' };
  if (ctx.timeout) return { kind: 'timeout', phase: ctx.timeout.phase };
  if (err instanceof APIConnectionTimeoutError) return { kind: 'timeout', phase: 'first-byte' };
  if (err instanceof APIUserAbortError) return { kind: 'connection', message: 'aborted' };
  if (err instanceof APIError && err.status !== undefined) {
    const body = err.error === undefined ? undefined : { error: err.error };
    return {
      kind: 'status',
      status: err.status,
      body,
      retryAfterMs: parseRetryAfter(err.headers, ctx.nowMs),
    };
  }
  if (err instanceof APIError) {
    // An error frame inside the stream (no HTTP status): the provider failed mid-answer.
    return { kind: 'connection', message: err.message };
  }
  const cause = (err as { cause?: { code?: string } } | null)?.cause;
  if (cause?.code === 'UND_ERR_CONNECT_TIMEOUT') return { kind: 'timeout', phase: 'first-byte' };
  return { kind: 'connection', message: err instanceof Error ? err.message : String(err) };
}

/** True when the same upstream may be asked again. */
export function isRetryable(f: UpstreamFailure): boolean {
  if (f.kind === 'connection') return true;
  if (f.kind === 'timeout') return f.phase === 'first-byte';
  if (f.kind === 'status')
    return f.status === 408 || f.status === 409 || f.status === 429 || f.status >= 500;
  return false;
}

/** True when the next upstream for the model may be tried after this failure. */
export function allowsFallback(f: UpstreamFailure): boolean {
  if (f.kind === 'client-closed') return false;
  if (f.kind === 'status') return isRetryable(f) || f.status === 401 || f.status === 403;
  return true;
}

/** Replaces every configured secret in a text (upstream error bodies can quote the key). */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 8) out = out.split(s).join('[redacted]');
  return out.replace(/\bsk-[A-Za-z0-9_*-]{6,}/g, 'sk-[redacted]');
}

/** Turns the last failure into the error the client sees (or the note that it left). */
export function failureToError(
  f: UpstreamFailure,
  secrets: readonly string[],
): GatewayError | ClientClosedError {
  switch (f.kind) {
    case 'client-closed':
      return new ClientClosedError();
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
      const body =
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
      if (f.status === 429 && f.retryAfterMs !== null) {
        headers['retry-after'] = String(Math.max(1, Math.ceil(f.retryAfterMs / 1000)));
      }
      return new GatewayError(
        f.status as ContentfulStatusCode,
        'upstream error',
        'upstream_error',
        null,
        null,
        headers,
        body,
      );
    }
  }
}
