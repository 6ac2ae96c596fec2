import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { PriceTable } from '../analytics/prices.js';
import { findPrice } from '../analytics/prices.js';
import type { AppEnv, Outcome } from '../http/env.js';
import { ClientClosedError, GatewayError } from '../http/errors.js';
import { usageDetails } from '../recording/interaction-row.js';
import type { Clock } from '../runtime/clock.js';
import type { FinishedRequest, RequestObserver } from '../runtime/request-report.js';
import { basicFinishedRequest, reportRequest } from '../runtime/request-report.js';

/** What the access-log middleware uses. */
export interface AccessLogDeps extends RequestObserver {
  clock: Clock;
}

/**
 * Reports every request (one access-log line, the request metrics, the in-flight gauge) through
 * `reportRequest` when its handler returns — except those an after-response step owns (the
 * pipeline routes), which it reports itself once the last byte is out, with the full outcome.
 */
export function accessLog(deps: AccessLogDeps) {
  return async function accessLog(c, next) {
    deps.metrics.requestsInFlight.inc();
    try {
      await next();
    } catch (err) {
      // Errors are rendered by the app's onError before they get here; this is a last resort.
      deps.metrics.requestsInFlight.dec();
      throw err;
    }
    if (c.get('reportedAfter')) return;
    deps.metrics.requestsInFlight.dec();
    reportRequest(deps, knownFacts(c, deps.clock));
  } satisfies MiddlewareHandler<AppEnv>;
}

/** What every route knows of a request once its handler has returned. */
export function knownFacts(c: Context<AppEnv>, clock: Clock): FinishedRequest {
  const error = c.error;
  const request = c.get('request');
  return {
    ...basicFinishedRequest({
      requestId: c.get('requestId'),
      method: c.req.method,
      route: matchedRoute(c),
      status: c.res.status,
      durationMs: clock.monotonic() - c.get('startedAt'),
    }),
    model: request?.model ?? null,
    cacheStatus: c.get('cacheStatus') ?? null,
    tokensSavedCompression: c.get('compression')?.tokensSaved ?? null,
    ...errorFields(error, c.res.status),
  };
}

/** The route pattern that answered, so the metrics' route label stays bounded. */
export function matchedRoute(c: Context<AppEnv>): string {
  const handler = matchedRoutes(c).findLast((r) => r.method !== 'ALL');
  return handler ? handler.path : 'unmatched';
}

function errorFields(
  error: Error | undefined,
  status: number,
): Pick<FinishedRequest, 'errorCode' | 'upstreamFailure'> {
  if (error instanceof GatewayError) {
    const upstream = error.type === 'upstream_error';
    return {
      errorCode: error.code ?? (upstream ? `upstream_${status}` : error.type),
      upstreamFailure: upstream,
    };
  }
  if (error instanceof ClientClosedError)
    return { errorCode: 'client_closed', upstreamFailure: false };
  if (error) return { errorCode: 'internal_error', upstreamFailure: false };
  return { errorCode: null, upstreamFailure: false };
}

/** Completes a chat request's report from its outcome. */
export function withOutcome(
  known: FinishedRequest,
  o: Outcome,
  prices: PriceTable,
): FinishedRequest {
  const usage = o.fromCache ? null : (o.completion?.usage ?? o.usage ?? null);
  // An upstream may send anything in usage: only whole, finite counts are counted.
  const promptTokens = tokenCount(usage?.prompt_tokens);
  const completionTokens = tokenCount(usage?.completion_tokens);
  return {
    ...known,
    status: o.status,
    durationMs: o.latencyMs,
    provider: o.provider,
    upstreamMs: o.upstreamMs,
    ttftMs: o.fromCache ? null : o.ttftMs,
    promptTokens,
    completionTokens,
    costUsd: estimateCostUsd(prices, o.upstreamModel ?? known.model, {
      prompt: promptTokens,
      completion: completionTokens,
      cached: usageDetails(usage).cachedTokens,
    }),
    errorCode: o.errorCode,
    // A stream the upstream cut after the first byte ends with an error code; a client leaving does not.
    upstreamFailure: o.errorCode !== null && o.status !== 499 && !o.fromCache,
  };
}

function tokenCount(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
    ? Math.round(value)
    : null;
}

/** Token counts of one answer, as the cost estimate reads them. */
interface BilledTokens {
  prompt: number | null;
  completion: number | null;
  /** Prompt tokens the provider served from its prompt cache (its cached-input rate). */
  cached: number | null;
}

/** US dollars for the tokens at the table's price for the model (or its alias); null if unpriced. */
export function estimateCostUsd(
  prices: PriceTable,
  model: string | null,
  tokens: BilledTokens,
): number | null {
  const prompt = tokens.prompt ?? 0;
  const completion = tokens.completion ?? 0;
  if (model === null || prompt + completion === 0) return null;
  const price = findPrice(prices, model);
  if (!price) return null;
  const cached = Math.min(prompt, tokens.cached ?? 0);
  return (
    ((prompt - cached) * price.inputPerMTokUsd +
      cached * price.cachedInputPerMTokUsd +
      completion * price.outputPerMTokUsd) /
    1_000_000
  );
}
