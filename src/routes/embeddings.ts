import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import type { AppEnv } from '../http/env.js';
import { after } from '../pipeline/after.js';
import { auth } from '../pipeline/auth.js';
import { parseEmbeddings, respondEmbeddings, upstreamEmbeddings } from '../pipeline/embeddings.js';
import { rateLimit } from '../pipeline/rate-limit.js';

/**
 * POST /v1/embeddings: auth → after → parse → rate limit (input tokens against TPM) → upstream →
 * respond. No prompt compression (it would change the vectors).
 */
export function embeddingsRoute(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.post(
    '/embeddings',
    auth(deps, 'chat'),
    after(deps),
    parseEmbeddings(deps),
    rateLimit(deps),
    upstreamEmbeddings(deps),
    respondEmbeddings(deps),
  );
  return app;
}
