import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** What reporting a request needs: the process logger and metrics (a `Deps` is one). */
export interface RequestObserver {
  logger: Logger;
  metrics: Metrics;
}

/**
 * One finished request, as plain data: what the access log line and the metrics say about it.
 * Never holds prompt or answer text, keys or secrets. Fields a route does not know are null.
 */
export interface FinishedRequest {
  requestId: string;
  method: string;
  /** The matched route pattern (`/v1/chat/completions`, `/admin/keys/:id`), never the raw path. */
  route: string;
  status: number;
  /** From arrival to the last byte (or to the headers, where the end is not seen). */
  durationMs: number;
  /** The public id of the key that made the request (`key_…`, never the key); null before auth. */
  keyId: string | null;
  /** The model the client asked for. */
  model: string | null;
  /**
   * The upstream that answered (`openai`, a fallback's name) — for a cache hit, the one its answer
   * came from; null when none was called.
   */
  provider: string | null;
  /** What the cache did (`hit`, `semantic-hit`, `miss`, `bypass`); null when it was not asked. */
  cacheStatus: string | null;
  /** Time spent waiting on the upstream, retries included. */
  upstreamMs: number | null;
  /** The HTTP status of the last upstream call; null when none was made or it got no answer. */
  upstreamStatus: number | null;
  /** Upstream calls made (retries and fallbacks included); null when none was made. */
  attempts: number | null;
  /** Streams: time from arrival to the first chunk. */
  ttftMs: number | null;
  /** Tokens billed by the upstream (null on cache hits: nothing was billed). */
  promptTokens: number | null;
  completionTokens: number | null;
  tokensSavedCompression: number | null;
  /** Estimated cost in USD from the price table; null when the model has no price or no tokens. */
  costUsd: number | null;
  /** The error code the client saw (`rate_limit_exceeded`, `upstream_error`, …). */
  errorCode: string | null;
  /** Set when the failure came from the upstream (an error status, a stream cut mid-way). */
  upstreamFailure: boolean;
  /** Why the upstream failed, in the gateway's own words, when that is known. */
  failureReason: string | null;
}

/** A finished request with only what every route knows; the rest null. */
export function basicFinishedRequest(
  fields: Pick<FinishedRequest, 'requestId' | 'method' | 'route' | 'status' | 'durationMs'>,
): FinishedRequest {
  // One literal with every field (no spread): the object keeps a fixed shape, and building it
  // costs one allocation.
  return {
    requestId: fields.requestId,
    method: fields.method,
    route: fields.route,
    status: fields.status,
    durationMs: fields.durationMs,
    keyId: null,
    model: null,
    provider: null,
    cacheStatus: null,
    upstreamMs: null,
    upstreamStatus: null,
    attempts: null,
    ttftMs: null,
    promptTokens: null,
    completionTokens: null,
    tokensSavedCompression: null,
    costUsd: null,
    errorCode: null,
    upstreamFailure: false,
    failureReason: null,
  };
}

/**
 * Writes the access-log line and updates the metrics for one finished request: the one place
 * both are produced, called once per request (by the app's middleware, or for `/v1` by the
 * after-response step with the full outcome).
 */
export function reportRequest(observer: RequestObserver, finished: FinishedRequest): void {
  logRequest(observer.logger, finished);
  countRequest(observer.metrics, finished);
}

function logRequest(logger: Logger, f: FinishedRequest): void {
  const line = {
    requestId: f.requestId,
    method: f.method,
    route: f.route,
    status: f.status,
    durationMs: round(f.durationMs),
    keyId: f.keyId,
    model: f.model,
    provider: f.provider,
    cache: f.cacheStatus,
    upstreamMs: f.upstreamMs === null ? null : round(f.upstreamMs),
    // Left out of the line (undefined) when no upstream call was made or answered, without
    // changing the line's shape.
    upstreamStatus: f.upstreamStatus ?? undefined,
    attempts: f.attempts ?? undefined,
    ttftMs: f.ttftMs === null ? null : round(f.ttftMs),
    promptTokens: f.promptTokens,
    completionTokens: f.completionTokens,
    errorCode: f.errorCode,
  };
  if (f.upstreamFailure) {
    // Built only for the rare failure: the common line keeps its fixed shape.
    logger.warn(
      f.failureReason === null ? line : { ...line, reason: f.failureReason },
      'upstream failure',
    );
  } else if (f.errorCode === 'shutting_down') {
    // Neither the upstream's failure nor the gateway's: the stop ended the request mid-way.
    logger.warn(line, 'request ended by the shutdown');
  } else if (f.status >= 500) logger.warn(line, 'request failed');
  else logger.info(line, 'request');
}

function countRequest(metrics: Metrics, f: FinishedRequest): void {
  // A successful answer is what lets a client-chosen name become a label value of its own.
  const model =
    f.model === null
      ? ''
      : metrics.modelLabels.of(f.model, f.status === 200 && f.errorCode === null);
  metrics.requestDuration.observe(
    { method: f.method, route: f.route, status: String(f.status), model },
    f.durationMs / 1000,
  );
  const provider = f.provider ?? '';
  if (f.upstreamMs !== null) {
    const outcome = f.upstreamFailure ? 'error' : 'ok';
    metrics.upstreamDuration.observe({ provider, model, outcome }, f.upstreamMs / 1000);
  }
  if (f.ttftMs !== null) metrics.timeToFirstToken.observe({ provider, model }, f.ttftMs / 1000);
  if (f.promptTokens) metrics.tokens.inc({ type: 'prompt', model }, f.promptTokens);
  if (f.completionTokens) metrics.tokens.inc({ type: 'completion', model }, f.completionTokens);
  const billed = (f.promptTokens ?? 0) + (f.completionTokens ?? 0) > 0;
  if (f.costUsd !== null) metrics.estimatedCost.inc({ model }, f.costUsd);
  else if (billed) metrics.unpricedRequests.inc({ model });
  if (f.cacheStatus !== null) metrics.cacheLookups.inc({ result: f.cacheStatus });
  if (f.tokensSavedCompression) metrics.compressionTokensSaved.inc(f.tokensSavedCompression);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
