import { GatewayError } from '../http/errors.js';
import type { LocalSlots } from '../ratelimit/local-slots.js';
import type { Metrics } from '../runtime/metrics.js';
import type { Stage } from './stage.js';

/**
 * Takes a slot of the key's (and tenant's) `max_concurrency` before the body is read, so a slow
 * body counts against it; 429 when every slot is taken (counted as a rate-limit rejection, reason
 * `concurrency`, as the shared limiter's own are). The after-response step releases it.
 */
export function holdSlot(deps: { localSlots: LocalSlots; metrics: Pick<Metrics, 'rateLimited'> }) {
  return function holdSlot(c) {
    const key = c.get('apiKey');
    const keyLimit = key.maxConcurrency;
    const tenantLimit = key.tenantLimits.maxConcurrency;
    if (keyLimit === null && tenantLimit === null) return;
    const slot = deps.localSlots.acquire({
      keyId: key.id,
      tenantId: key.tenantId,
      keyLimit,
      tenantLimit,
    });
    if (slot === 'key' || slot === 'tenant') {
      deps.metrics.rateLimited.inc({ reason: 'concurrency' });
      const owner = slot === 'tenant' ? `tenant ${key.tenantId}` : `key ${key.id}`;
      throw GatewayError.rateLimited(
        `Rate limit reached for concurrent requests on ${owner}. Please try again in 1s.`,
        'requests',
        { 'retry-after': '1', 'retry-after-ms': '1000' },
      );
    }
    c.set('slot', slot);
  } satisfies Stage;
}
