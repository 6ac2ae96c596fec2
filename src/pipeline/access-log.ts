import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { PriceTable } from '../analytics/prices.js';
import { findPrice } from '../analytics/prices.js';
import type { AppEnv, Outcome } from '../http/env.js';
import { ClientClosedError, GatewayError } from '../http/errors.js';
import { usageDetails } from '../recording/interaction-row.js';
import type { Clock } from '../runtime/clock.js';
import type { InFlightRequests } from '../runtime/in-flight.js';
import type { FinishedRequest, RequestObserver } from '../runtime/request-report.js';
import { basicFinishedRequest, reportRequest } from '../runtime/request-report.js';

/** What the access-log middleware uses. */
export interface AccessLogDeps extends RequestObserver {
  clock: Clock;
  inFlight: InFlightRequests;
}

/**
 * Reports every request (one access-log line, the request metrics, the in-flight gauge) through
 * `reportRequest` when its handler returns — except those an after-response step owns (the
 * pipeline routes), which it reports itself once the last byte is out, with the full outcome.
 */
export function accessLog(deps: AccessLogDeps) {
  return async function accessLog(c, next) {
    deps.inFlight.begin();
    try {
      await next();
    } catch (err) {
      // Errors are rendered by the app's onError before they get here; this is a last resort.
      deps.inFlight.end();
      throw err;
    }
    if (c.get('reportedAfter')) return;
    deps.inFlight.end();
    reportRequest(deps, knownFacts(c, deps.clock));
  } satisfies MiddlewareHandler<AppEnv>;
}

/** What every route knows of a request once its handler has returned. */
export function knownFacts(c: Context<AppEnv>, clock: Clock): FinishedRequest {
  const status = c.res.status;
  const facts = basicFinishedRequest({
    requestId: c.get('requestId'),
    method: c.req.method,
    route: matchedRoute(c),
    status,
    durationMs: clock.monotonic() - c.get('startedAt'),
  });
  facts.keyId = c.get('apiKey')?.id ?? c.get('refusedKeyId') ?? null;
  // A refused request says which model its body named, as its interaction row does.
  facts.model = c.get('request')?.model ?? c.get('askedModel') ?? null;
  facts.cacheStatus = c.get('cacheStatus') ?? null;
  facts.tokensSavedCompression = c.get('compression')?.tokensSaved ?? null;
  setErrorFields(facts, c.error, status);
  return facts;
}

/** The route label of a request no route serves: one value, whatever path was sent. */
export const UNMATCHED_ROUTE = 'unmatched';

/** A route parameter's matcher pattern, as in `:id{.+}`. */
const PARAMETER_PATTERN = /(:[A-Za-z0-9_]+)\{[^/]*\}/g;

/**
 * The route pattern that answered, so the metrics' route label stays bounded: the template as
 * operators read it (`/v1/models/:id`), without the matcher's pattern for a parameter
 * (`:id{.+}`).
 */
export function matchedRoute(c: Context<AppEnv>): string {
  const named = c.get('routeTemplate');
  if (named !== undefined) return named;
  const handler = matchedRoutes(c).findLast((r) => r.method !== 'ALL');
  if (!handler) return UNMATCHED_ROUTE;
  return handler.path.includes('{') ? handler.path.replace(PARAMETER_PATTERN, '$1') : handler.path;
}

/** The error code the client saw, and whether the failure came from the upstream. */
function setErrorFields(facts: FinishedRequest, error: Error | undefined, status: number): void {
  if (error instanceof GatewayError) {
    const upstream = error.type === 'upstream_error';
    facts.errorCode = error.code ?? (upstream ? `upstream_${status}` : error.type);
    facts.upstreamFailure = upstream;
  } else if (error instanceof ClientClosedError) facts.errorCode = 'client_closed';
  else if (error) facts.errorCode = 'internal_error';
}

/** Completes a chat request's report from its outcome, in place, and returns it. */
export function withOutcome(
  known: FinishedRequest,
  o: Outcome,
  prices: PriceTable,
): FinishedRequest {
  const usage = o.fromCache ? null : (o.completion?.usage ?? o.usage ?? null);
  // An upstream may send anything in usage: only whole, finite counts are counted.
  const promptTokens = tokenCount(usage?.prompt_tokens);
  const completionTokens = tokenCount(usage?.completion_tokens);
  // knownFacts made the report for this request alone: completing it costs no second copy.
  known.status = o.status;
  known.durationMs = o.latencyMs;
  known.provider = o.provider;
  known.upstreamMs = o.upstreamMs;
  known.upstreamStatus = o.upstreamStatus;
  known.attempts = o.attempts;
  known.ttftMs = o.fromCache ? null : o.ttftMs;
  known.promptTokens = promptTokens;
  known.completionTokens = completionTokens;
  known.costUsd = estimateCostUsd(prices, o.upstreamModel ?? known.model, {
    prompt: promptTokens,
    completion: completionTokens,
    cached: usageDetails(usage).cachedTokens,
  });
  known.errorCode = o.errorCode;
  // Only a failed upstream call is an upstream failure: the gateway's own refusals (400, 401,
  // 413, its 429, …) and a client that left are ordinary requests with their status and code.
  known.upstreamFailure = o.upstreamFailure !== null;
  known.failureReason = o.upstreamFailure;
  return known;
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
