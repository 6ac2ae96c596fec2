import type { Attributes } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import type { PriceTable } from '../analytics/prices.js';
import type { CacheStore } from '../cache/cache-store.js';
import type { Endpoint } from '../http/chat-request.js';
import type { AppEnv, Outcome } from '../http/env.js';
import { ClientClosedError, GatewayError } from '../http/errors.js';
import type { VerifiedKey } from '../keys/key-verifier.js';
import type { RateLimiter, Ticket } from '../ratelimit/rate-limiter.js';
import type { InteractionRecorder } from '../recording/recorder.js';
import { afterResponse } from '../runtime/after-response.js';
import type { Background } from '../runtime/background.js';
import type { Clock } from '../runtime/clock.js';
import type { InFlightRequests } from '../runtime/in-flight.js';
import type {
  FinishedRequest as ReportedRequest,
  RequestObserver,
} from '../runtime/request-report.js';
import { reportRequest } from '../runtime/request-report.js';
import { knownFacts, withOutcome } from './access-log.js';
import type { FinishedRequest } from './finished-request.js';
import {
  chargeNeedsCount,
  finishedRequest,
  interactionRecord,
  outcomeOfError,
  storableCompletion,
  tokensUsed,
} from './finished-request.js';
import { reportLimitsOnRefusal } from './rate-limit.js';

/** What the after-response sequence uses. */
export interface AfterDeps extends RequestObserver {
  cache: CacheStore;
  recorder: InteractionRecorder;
  background: Background;
  clock: Clock;
  prices: PriceTable;
  inFlight: InFlightRequests;
}

/**
 * The after-response sequence, in this order: free the concurrency slot and settle the rate-limit
 * reservation with the real usage, store a fresh answer in the cache, record the
 * interaction row. It runs once per request, after its last byte. The row is its one promise:
 * whatever the steps before it meet, they log it and the row is still recorded.
 */
export async function afterSequence(
  deps: AfterDeps,
  f: FinishedRequest & { key: VerifiedKey },
  outcome: Outcome,
  errorBody: unknown,
): Promise<void> {
  // Each step before the record catches its own failure: an odd answer or a failing store costs
  // a saving or a settled count, never the row.
  const { admission, request, cachePlan } = f;
  if (admission) {
    // The `after` step has done both when the answer ended (see endAdmission); a second call does
    // nothing. The slot first: a settle waiting on a slow limit store must not hold it.
    try {
      await admission.release();
    } catch (err) {
      deps.logger.warn({ err, requestId: f.id }, 'rate-limit release failed');
    }
    try {
      await admission.settle(tokensUsed(outcome, admission.reservedTokens, request));
    } catch (err) {
      deps.logger.warn({ err, requestId: f.id }, 'rate-limit settle failed');
    }
  }
  if (request && cachePlan) {
    try {
      const completion = storableCompletion(outcome, request);
      if (completion) {
        await deps.cache.store({
          tenantId: f.key.tenantId,
          keys: cachePlan.keys,
          completion,
          completionJson: completion === outcome.completion ? outcome.completionJson : undefined,
          embedding: cachePlan.embedding,
          numbers: cachePlan.numbers,
          provider: outcome.provider,
        });
      }
    } catch (err) {
      deps.logger.warn({ err, requestId: f.id }, 'cache store failed');
    }
  }
  // Returned, not awaited: while the row waits to be sealed, this closure (and the request and
  // answer it holds) can be collected.
  return deps.recorder.record(interactionRecord(f, outcome, errorBody));
}

/**
 * Gives an admitted request's hold on the limits back the moment its answer ends, before any
 * after-response work: its concurrency slot, and its token reservation settled with the real
 * usage. Both limiter calls are sent before this returns; it resolves once the release is
 * acknowledged and never rejects (failures are logged). The settle goes on in the background.
 */
function endAdmission(
  deps: Pick<AfterDeps, 'logger' | 'background'>,
  facts: FinishedRequest,
  admission: Ticket,
  outcome: Outcome,
): Promise<void> {
  const requestId = facts.id;
  const released = admission.release().catch((err: unknown) => {
    deps.logger.warn({ err, requestId }, 'rate-limit release failed');
  });
  const settle = () =>
    admission.settle(tokensUsed(outcome, admission.reservedTokens, facts.request));
  // Counting a cut stream's tokens waits until after the response; every other charge is known.
  const settled = (chargeNeedsCount(outcome) ? afterResponse().then(settle) : settle()).catch(
    (err: unknown) => {
      deps.logger.warn({ err, requestId }, 'rate-limit settle failed');
    },
  );
  deps.background.run(Promise.all([released, settled]));
  return released;
}

/**
 * The after-response step of every pipeline endpoint, placed first in its route, which names the
 * endpoint: once the response is complete (the last byte of a stream sent, or the client gone),
 * reports the request (access log, metrics) and, for an authenticated one, runs the after-response
 * sequence in the background, so nothing after the response delays it. Errors are reported and
 * recorded too, as requests to their endpoint however early they were refused; one that came
 * before the rate-limit stage first gets the key's x-ratelimit-* headers.
 *
 * One thing comes before the last byte: a request holding a concurrency slot has the slot freed,
 * and the release acknowledged by the limiter, before its answer's last byte is sent (a JSON body
 * or an error waits here, a stream's final piece in the relay). A client that sends its next
 * request once it has the answer therefore finds the slot free on every instance sharing the
 * limits, whichever Redis connection that request's check travels on. Requests without a
 * concurrency limit wait for nothing.
 */
export function after(deps: AfterDeps & { rateLimiter: RateLimiter }, endpoint: Endpoint) {
  return async function after(c, next) {
    c.set('reportedAfter', true);
    await next();
    if (c.error && !(c.error instanceof ClientClosedError)) await reportLimitsOnRefusal(deps, c);
    const facts = finishedRequest(c, endpoint);
    const known = knownFacts(c, deps.clock);
    const trace = c.get('trace');
    /** Ends the request: a promise when its last byte must wait for its slot's release. */
    const run = (outcome: Outcome, errorBody: unknown): Promise<void> | undefined => {
      // Freed the moment the answer ends, before any after-response work.
      facts.slot?.release();
      const admission = facts.admission;
      const released = admission && endAdmission(deps, facts, admission, outcome);
      deps.background.run(async () => {
        await afterResponse();
        deps.inFlight.end();
        const report = withOutcome(known, outcome, deps.prices);
        try {
          reportRequest(deps, report);
        } catch (err) {
          // The log line and the metrics must never cost the request its row.
          deps.logger.error({ err, requestId: known.requestId }, 'request report failed');
        }
        const key = facts.key;
        if (!trace) {
          if (key) return afterSequence(deps, { ...facts, key }, outcome, errorBody);
          return;
        }
        const endTrace = () =>
          trace.end(
            traceAttributes(report),
            report.status >= 500,
            report.upstreamFailure ? (report.failureReason ?? 'upstream failure') : null,
          );
        if (!key) return endTrace();
        const recording = trace.child('record');
        return afterSequence(deps, { ...facts, key }, outcome, errorBody).finally(() => {
          recording.end();
          endTrace();
        });
      });
      return admission?.holdsSlot ? released : undefined;
    };
    const error = c.error;
    if (error) {
      const latencyMs = deps.clock.monotonic() - facts.startedAt;
      const outcome = outcomeOfError(error, latencyMs, c.get('failedUpstream'), c.get('outcome'));
      const released = run(outcome, error instanceof GatewayError ? error.body() : null);
      if (released) await released;
      return;
    }
    const outcome = c.get('outcome');
    if (!outcome.complete) {
      // A stream: the relay sends its final piece once this resolves.
      outcome.onComplete = () => run(outcome, null);
      return;
    }
    const released = run(outcome, null);
    if (released) await released;
  } satisfies MiddlewareHandler<AppEnv>;
}

/** The request span's closing attributes: OpenTelemetry's HTTP and GenAI names where they exist. */
function traceAttributes(report: ReportedRequest): Attributes {
  const attributes: Attributes = {
    'http.route': report.route,
    'http.response.status_code': report.status,
  };
  if (report.model !== null) attributes['gen_ai.request.model'] = report.model;
  if (report.cacheStatus !== null) attributes['tollgate.cache'] = report.cacheStatus;
  if (report.promptTokens !== null) attributes['gen_ai.usage.input_tokens'] = report.promptTokens;
  if (report.completionTokens !== null) {
    attributes['gen_ai.usage.output_tokens'] = report.completionTokens;
  }
  if (report.errorCode !== null) attributes['error.type'] = report.errorCode;
  return attributes;
}
