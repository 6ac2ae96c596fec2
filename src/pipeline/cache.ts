import { parseCacheControl } from '../cache/cache-control.js';
import type { CacheStore } from '../cache/cache-store.js';
import { deriveCacheKeys } from '../cache/scope.js';
import type { CacheStatus } from '../http/env.js';
import { requestHeader } from '../http/incoming.js';
import { setResponseHeader } from '../http/response-headers.js';
import type { Stage } from './stage.js';

/**
 * Answers from the cache when it safely can (the upstream stage then stands aside), and tells the
 * after-response step where to store a fresh answer. Honours `Cache-Control` (`no-cache`,
 * `no-store`, `max-age`) and the key's own cache setting.
 */
export function cache(deps: { cache: CacheStore }) {
  return async function cache(c) {
    const key = c.get('apiKey');
    const request = c.get('request');
    const directives = parseCacheControl(requestHeader(c, 'cache-control'));
    const mark = (status: CacheStatus) => {
      c.set('cacheStatus', status);
      setResponseHeader(c, 'x-tollgate-cache', status);
    };
    if (!deps.cache.enabled || !key.cacheEnabled || (directives.noCache && directives.noStore)) {
      mark('bypass');
      return;
    }
    const keys = deriveCacheKeys({
      tenantId: key.tenantId,
      model: request.model,
      body: request.body,
    });
    let embedding: Float32Array | null = null;
    let numbers: string | undefined;
    if (!directives.noCache) {
      const span = c.get('trace')?.child('cache lookup');
      const raw = c.req.raw;
      const found = await deps.cache.lookup({
        tenantId: key.tenantId,
        keys,
        maxAgeMs: directives.maxAgeMs,
        clientSignal: () => raw.signal,
      });
      span?.setAttribute('tollgate.cache', found.hit ? found.hit.kind : 'miss');
      span?.end();
      embedding = found.embedding;
      numbers = found.numbers;
      if (found.hit) {
        mark(found.hit.kind);
        c.set('cacheHit', found.hit);
        return;
      }
    }
    mark(directives.noCache ? 'bypass' : 'miss');
    if (!directives.noStore) c.set('cachePlan', { keys, embedding, numbers });
  } satisfies Stage;
}
