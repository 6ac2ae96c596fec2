import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { upstreamError } from '../http/upstream-error.js';
import type { RequestTrace, Span } from '../runtime/tracing.js';
import { failSpan, SpanKind } from '../runtime/tracing.js';
import type { Upstream, UpstreamAnswer } from '../upstream/upstream.js';
import { UpstreamFailure } from '../upstream/upstream-failure.js';

/**
 * Sends the request upstream and puts the answer in the context. Streams always ask for the usage
 * chunk so usage is known; the responder hides it from clients that did not ask. Stands aside
 * when the cache stage has already found the answer. An upstream failure becomes the error the
 * client sees (scrubbed of every configured secret).
 */
export function upstream(deps: { upstream: Upstream; secrets: readonly string[] }) {
  return async function upstream(c, next) {
    if (c.get('cacheHit')) {
      await next();
      return;
    }
    const req = c.get('request');
    const needsUsage = req.stream && !req.includeUsage;
    const body = needsUsage
      ? {
          ...req.body,
          stream_options: {
            ...(req.body.stream_options as Record<string, unknown> | undefined),
            include_usage: true,
          },
        }
      : req.body;
    const trace = c.get('trace');
    const span = trace?.child(
      `chat ${req.model}`,
      { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': req.model },
      SpanKind.CLIENT,
    );
    try {
      const answer = await deps.upstream.chat({
        body,
        rawBody: needsUsage || req.rawBody === null ? null : Buffer.from(req.rawBody),
        model: req.model,
        stream: req.stream,
        signal: c.req.raw.signal,
        headers: trace && span ? trace.headersFor(span) : undefined,
      });
      c.set('answer', answer);
      if (trace && span) endUpstreamSpan(trace, span, answer);
    } catch (err) {
      if (span) failSpan(span, err instanceof Error ? err.message : 'upstream failure');
      throw err instanceof UpstreamFailure ? upstreamError(err, deps.secrets) : err;
    }
    await next();
  } satisfies MiddlewareHandler<AppEnv>;
}

/** A JSON answer ends the upstream span; a stream's span lasts until the request ends. */
function endUpstreamSpan(trace: RequestTrace, span: Span, answer: UpstreamAnswer) {
  span.setAttributes({
    'gen_ai.response.model': answer.meta.upstreamModel,
    'tollgate.provider': answer.meta.provider,
    'tollgate.upstream.attempts': answer.meta.attempts,
  });
  if (answer.kind === 'json') span.end();
  else trace.endWithRequest(span);
}
