import type { MiddlewareHandler } from 'hono';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { parseCacheControl } from '../cache/cache-control.js';
import type { CacheStore } from '../cache/cache-store.js';
import type { CacheKeys } from '../cache/scope.js';
import { deriveCacheKeys } from '../cache/scope.js';
import type { ChatRequest } from '../http/chat-request.js';
import type { AppEnv, ChatOutcome } from '../http/env.js';
import { afterResponse } from '../runtime/after-response.js';
import type { Background } from '../runtime/background.js';

/** Answers worth keeping: complete, successful, and with every choice the request asked for. */
function storable(
  outcome: ChatOutcome,
  request: ChatRequest,
): outcome is ChatOutcome & {
  completion: ChatCompletion;
} {
  const completion = outcome.completion;
  if (outcome.status !== 200 || outcome.errorCode !== null || !completion) return false;
  if (completion.choices.length !== request.n) return false;
  // Truncated (`length`), filtered or unfinished answers would be replayed as if they were whole.
  return completion.choices.every(
    (c) => c.finish_reason === 'stop' || c.finish_reason === 'tool_calls',
  );
}

/**
 * Answers from the cache when it safely can (the upstream stage then stands aside), and stores a
 * fresh answer in the background once the response is complete. Honours `Cache-Control`
 * (`no-cache`, `no-store`, `max-age`) and the key's own cache setting.
 */
export function cache(deps: { cache: CacheStore; background: Background }) {
  return async function cache(c, next) {
    const key = c.get('apiKey');
    const request = c.get('chatRequest');
    const directives = parseCacheControl(c.req.header('cache-control'));
    if (!deps.cache.enabled || !key.cacheEnabled || (directives.noCache && directives.noStore)) {
      c.set('cacheStatus', 'bypass');
      c.header('x-tollgate-cache', 'bypass');
      await next();
      return;
    }
    const keys: CacheKeys = deriveCacheKeys({
      tenantId: key.tenantId,
      model: request.model,
      body: request.body,
    });
    let embedding: Float32Array | null = null;
    if (!directives.noCache) {
      const found = await deps.cache.lookup({
        tenantId: key.tenantId,
        keys,
        maxAgeMs: directives.maxAgeMs,
        signal: c.req.raw.signal,
      });
      embedding = found.embedding;
      if (found.hit) {
        c.set('cacheStatus', found.hit.kind);
        c.set('cacheHit', found.hit);
        c.header('x-tollgate-cache', found.hit.kind);
        await next();
        return;
      }
    }
    c.set('cacheStatus', directives.noCache ? 'bypass' : 'miss');
    c.header('x-tollgate-cache', directives.noCache ? 'bypass' : 'miss');
    await next();
    if (directives.noStore || c.error) return;
    const outcome = c.get('outcome');
    if (!outcome) return;
    deps.background.run(async () => {
      await afterResponse();
      const o = await outcome;
      if (!storable(o, request)) return;
      await deps.cache.store({ tenantId: key.tenantId, keys, completion: o.completion, embedding });
    });
  } satisfies MiddlewareHandler<AppEnv>;
}
