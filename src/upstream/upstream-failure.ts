import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { UpstreamEndpoint } from './upstream.js';

/** Which of the gateway's own upstream timers fired. */
export type TimeoutPhase = 'first-byte' | 'idle' | 'total';

/** What went wrong in one upstream attempt, as far as retry and fallback care. */
export type FailureDetail =
  | { kind: 'client-closed' }
  /** The gateway's stop ended the call: not the upstream's doing, and asked of no other upstream. */
  | { kind: 'shutting-down' }
  | { kind: 'timeout'; phase: TimeoutPhase }
  /** `reason`: why, in the gateway's own words, when it is known (see `UpstreamFailure.reason`). */
  | { kind: 'connection'; message: string; reason?: string }
  | { kind: 'status'; status: number; body: unknown; retryAfterMs: number | null };

function describe(detail: FailureDetail): string {
  switch (detail.kind) {
    case 'client-closed':
      return 'the client closed the request';
    case 'shutting-down':
      return 'the gateway is shutting down';
    case 'timeout':
      return `upstream ${detail.phase} timeout`;
    case 'connection':
      return `upstream connection failed: ${detail.message}`;
    case 'status':
      return `upstream answered ${detail.status}`;
  }
}

/** A failed upstream attempt (or the last of several): thrown by the router, mapped at the edge. */
export class UpstreamFailure extends Error {
  /** Upstream calls the gateway made for the client's request before giving up. */
  attempts = 1;
  /** The configured upstream asked last (set by the router); null when none was asked. */
  provider: string | null = null;
  /** Where the upstream asked last is reached (set by the router); null when none was asked. */
  endpoint: UpstreamEndpoint | null = null;
  /**
   * The HTTP status of the last upstream call (set by the router; by the call itself when it was
   * answered 200 with a body that is not an answer); null when that call got no answer (a
   * timeout, a refused connection) or none was made.
   */
  upstreamStatus: number | null = null;
  /** Milliseconds from the first attempt to the failure, retries and waits included (router). */
  upstreamMs: number | null = null;
  /**
   * How long the router's backoff would have waited before one more attempt at the upstream that
   * failed last (the top of its next step); null when no router set it.
   */
  nextBackoffMs: number | null = null;

  constructor(readonly detail: FailureDetail) {
    super(describe(detail));
    this.name = 'UpstreamFailure';
  }

  /**
   * True when the upstream failed the call; false when the call ended for the client's or the
   * gateway's own reasons (a client that left, the gateway's shutdown).
   */
  get fromUpstream(): boolean {
    const kind = this.detail.kind;
    return kind !== 'client-closed' && kind !== 'shutting-down';
  }

  /**
   * Why the call failed, in a few fixed words an operator can count (`answered 503`,
   * `first-byte timeout`, `body is not JSON`, `connection refused`): never the upstream's text.
   */
  get reason(): string {
    return reasonOf(this.detail);
  }
}

function reasonOf(detail: FailureDetail): string {
  switch (detail.kind) {
    case 'client-closed':
      return 'client closed';
    case 'shutting-down':
      return 'shutting down';
    case 'timeout':
      return `${detail.phase} timeout`;
    case 'status':
      return `answered ${detail.status}`;
    case 'connection':
      return detail.reason ?? 'connection failed';
  }
}

/** What some system error codes mean, in the words `UpstreamFailure.reason` uses. */
const CONNECTION_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  UND_ERR_SOCKET: 'connection closed mid-answer',
  UND_ERR_HEADERS_OVERFLOW: 'response headers too large',
};

function codeOf(err: unknown): string | null {
  if (!(err instanceof Error)) return null;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : null;
}

/**
 * Why a connection-level error happened, from what the error already carries (its class, its
 * system code or its cause's): a known code in words, another code as it is, never a message.
 */
function connectionReason(err: unknown): string {
  if (err instanceof SyntaxError) return 'body is not JSON';
  const code = codeOf(err) ?? codeOf(err instanceof Error ? err.cause : undefined);
  if (code === null) return 'connection failed';
  return (
    CONNECTION_CODES[code] ?? (/^[A-Z][A-Z0-9_]{1,40}$/.test(code) ? code : 'connection failed')
  );
}

/** Marks an abort caused by one of the gateway's own timers. */
export class UpstreamTimeout extends Error {
  constructor(readonly phase: TimeoutPhase) {
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

/** What the attempt knows of why it ended, beside the error itself. */
export interface FailureContext {
  /** The client had gone. */
  clientAborted: boolean;
  /** The gateway's shutdown stopped the attempt. */
  shutDown: boolean;
  /** The gateway timer that aborted the attempt, if one did. */
  timeout: UpstreamTimeout | null;
  nowMs: number;
}

/** Sorts an error thrown by one attempt into a failure the router can act on. */
export function classifyFailure(err: unknown, ctx: FailureContext): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  return new UpstreamFailure(classify(err, ctx));
}

function classify(err: unknown, ctx: FailureContext): FailureDetail {
  if (ctx.clientAborted) return { kind: 'client-closed' };
  if (ctx.shutDown) return { kind: 'shutting-down' };
  if (ctx.timeout) return { kind: 'timeout', phase: ctx.timeout.phase };
  if (err instanceof APIConnectionTimeoutError) return { kind: 'timeout', phase: 'first-byte' };
  if (err instanceof APIUserAbortError) {
    return { kind: 'connection', message: 'aborted', reason: 'aborted' };
  }
  const cause = err instanceof Error ? err.cause : undefined;
  if (codeOf(cause) === 'UND_ERR_CONNECT_TIMEOUT') return { kind: 'timeout', phase: 'first-byte' };
  if (err instanceof APIConnectionError) {
    return { kind: 'connection', message: err.message, reason: connectionReason(cause) };
  }
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
    // An error frame inside the stream (no HTTP status): the provider failed mid-answer. Its
    // message is the provider's text, so the failure keeps words of the gateway's own.
    const reason = 'error event in the stream';
    return { kind: 'connection', message: reason, reason };
  }
  const reason = connectionReason(err);
  // A JSON parse error quotes the text it could not read: the upstream's body stays out of it.
  const message =
    err instanceof SyntaxError ? reason : err instanceof Error ? err.message : String(err);
  return { kind: 'connection', message, reason };
}

/** True when the same upstream may be asked again. */
export function isRetryable(f: UpstreamFailure): boolean {
  const d = f.detail;
  if (d.kind === 'connection') return true;
  if (d.kind === 'timeout') return d.phase === 'first-byte';
  if (d.kind === 'status')
    return d.status === 408 || d.status === 409 || d.status === 429 || d.status >= 500;
  return false;
}

/** True when the next upstream for the model may be tried after this failure. */
export function allowsFallback(f: UpstreamFailure): boolean {
  if (!f.fromUpstream) return false;
  const d = f.detail;
  if (d.kind === 'status') return isRetryable(f) || d.status === 401 || d.status === 403;
  return true;
}

/** Replaces every configured secret in a text (upstream error bodies can quote the key). */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 8) out = out.split(s).join('[redacted]');
  return out.replace(/\bsk-[A-Za-z0-9_*-]{6,}/g, 'sk-[redacted]');
}
