import type { MiddlewareHandler } from 'hono';
import type { AppEnv, ChatOutcome } from '../http/env.js';
import { ClientClosedError, GatewayError } from '../http/errors.js';
import type { InteractionRecorder } from '../recording/recorder.js';
import { afterResponse } from '../runtime/after-response.js';
import type { Background } from '../runtime/background.js';
import type { Clock } from '../runtime/clock.js';

/**
 * Records every authenticated request as an interaction row. It only schedules work: the row is
 * built, encrypted and queued in the background once the last byte has gone out (for streams,
 * when the stream ends or the client leaves), so nothing on the response path waits for it.
 */
export function record(deps: {
  recorder: InteractionRecorder;
  background: Background;
  clock: Clock;
}) {
  return async function record(c, next) {
    await next();
    const key = c.get('apiKey');
    const request = c.get('chatRequest');
    const error = c.error;
    const outcome: Promise<ChatOutcome> | undefined = error ? undefined : c.get('outcome');
    const startedAt = c.get('startedAt');
    const hit = error ? undefined : c.get('cacheHit');
    const base = {
      id: c.get('requestId'),
      receivedAt: new Date(c.get('receivedAt')),
      tenantId: key.tenantId,
      keyId: key.id,
      endUser: request?.user ?? null,
      model: request?.model ?? null,
      stream: request?.stream ?? false,
      request: request?.body ?? null,
      cacheStatus: c.get('cacheStatus') ?? null,
      cacheSimilarity: hit?.similarity ?? null,
      // What the upstream would have billed again: the cached answer's own total.
      tokensSavedCache: hit ? (hit.completion.usage?.total_tokens ?? null) : null,
      compression: c.get('compression') ?? null,
    };
    // The task returns the recorder's promise rather than awaiting it, so that while the row
    // waits to be sealed this closure (and the request and answer it holds) can be collected.
    deps.background.run(async () => {
      await afterResponse();
      if (outcome) {
        const o = await outcome;
        return deps.recorder.record({
          ...base,
          upstreamModel: o.upstreamModel,
          provider: o.provider,
          status: o.status,
          errorCode: o.errorCode,
          // A cache hit spent no tokens; what it saved is in tokensSavedCache.
          usage: o.fromCache ? null : (o.completion?.usage ?? null),
          latencyMs: o.latencyMs,
          upstreamMs: o.upstreamMs,
          ttftMs: o.ttftMs,
          response: o.completion,
        });
      }
      const gatewayError = error instanceof GatewayError ? error : null;
      return deps.recorder.record({
        ...base,
        upstreamModel: null,
        provider: null,
        status: error instanceof ClientClosedError ? 499 : (gatewayError?.status ?? 500),
        errorCode:
          error instanceof ClientClosedError
            ? 'client_closed'
            : (gatewayError?.code ?? 'internal_error'),
        usage: null,
        latencyMs: deps.clock.monotonic() - startedAt,
        upstreamMs: null,
        ttftMs: null,
        response: gatewayError ? gatewayError.body() : null,
      });
    });
  } satisfies MiddlewareHandler<AppEnv>;
}
