import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { upstreamError } from '../http/upstream-error.js';
import type { Upstream } from '../upstream/upstream.js';
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
    try {
      const answer = await deps.upstream.chat({
        body,
        rawBody: needsUsage || req.rawBody === null ? null : Buffer.from(req.rawBody),
        model: req.model,
        stream: req.stream,
        signal: c.req.raw.signal,
      });
      c.set('answer', answer);
    } catch (err) {
      throw err instanceof UpstreamFailure ? upstreamError(err, deps.secrets) : err;
    }
    await next();
  } satisfies MiddlewareHandler<AppEnv>;
}
