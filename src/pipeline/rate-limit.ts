import type { MiddlewareHandler } from 'hono';
import { countRequestTokens } from '../compression/token-count.js';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import { setResponseHeader } from '../http/response-headers.js';
import { toTokenCount } from '../ratelimit/admission-plan.js';
import { rateLimitHeaders, retryAfterSeconds } from '../ratelimit/rate-limit-headers.js';
import type { LimitSpec, RateLimiter } from '../ratelimit/rate-limiter.js';
import type { Metrics } from '../runtime/metrics.js';

const LIMIT_NAMES = {
  requests: 'requests per minute (RPM)',
  tokens: 'tokens per minute (TPM)',
  concurrency: 'concurrent requests',
} as const;

function hasLimits(spec: LimitSpec): boolean {
  return spec.rpm != null || spec.tpm != null || spec.maxConcurrency != null;
}

/**
 * Admits the request against its key's (and tenant's) RPM, TPM and concurrency limits, sets
 * OpenAI's x-ratelimit-* headers, and answers 429 with retry-after when a limit is reached. Tokens
 * are reserved up front (prompt tokens + max_tokens, or a default) and settled with the real usage
 * after the answer by the after-response step; failed calls and cache hits are refunded.
 */
export function rateLimit(deps: {
  rateLimiter: RateLimiter;
  metrics: Metrics;
  config: { rateLimit: { defaultMaxTokens: number } };
}) {
  return async function rateLimit(c, next) {
    const key = c.get('apiKey');
    const req = c.get('request');
    const keySpec: LimitSpec = { rpm: key.rpm, tpm: key.tpm, maxConcurrency: key.maxConcurrency };
    const tenantSpec = key.tenantLimits;
    if (!hasLimits(keySpec) && !hasLimits(tenantSpec)) {
      await next();
      return;
    }
    // Counting prompt tokens costs CPU: only keys under a token limit pay it.
    const reserve =
      keySpec.tpm != null || tenantSpec.tpm != null
        ? toTokenCount(
            req.reserveTokens ??
              countRequestTokens(req.body, req.model) +
                (req.maxTokens ?? deps.config.rateLimit.defaultMaxTokens) * req.n,
          )
        : 0;
    const result = await deps.rateLimiter.admit(
      {
        keyId: key.id,
        tenantId: key.tenantId,
        key: keySpec,
        tenant: hasLimits(tenantSpec) ? tenantSpec : undefined,
      },
      reserve,
    );
    for (const [name, value] of Object.entries(rateLimitHeaders(result.state)))
      setResponseHeader(c, name, value);
    if (!result.ok) {
      if (result.reason === 'unavailable') {
        throw GatewayError.notReady('Rate limits cannot be checked right now; try again shortly.');
      }
      deps.metrics.rateLimited.inc({ reason: result.reason });
      const seconds = retryAfterSeconds(result.retryAfterMs);
      const owner = result.scope === 'tenant' ? `tenant ${key.tenantId}` : `key ${key.id}`;
      throw GatewayError.rateLimited(
        `Rate limit reached for ${LIMIT_NAMES[result.reason]} on ${owner}. Please try again in ${seconds}s.`,
        result.reason === 'tokens' ? 'tokens' : 'requests',
        { 'retry-after': seconds, 'retry-after-ms': String(Math.ceil(result.retryAfterMs)) },
      );
    }
    c.set('admission', result.ticket);
    await next();
  } satisfies MiddlewareHandler<AppEnv>;
}
