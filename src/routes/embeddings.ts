import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import type { AppEnv } from '../http/env.js';
import { after } from '../pipeline/after.js';
import { auth } from '../pipeline/auth.js';
import {
  embeddingsCache,
  parseEmbeddings,
  respondEmbeddings,
  upstreamEmbeddings,
} from '../pipeline/embeddings.js';
import { holdSlot } from '../pipeline/hold-slot.js';
import { rateLimit } from '../pipeline/rate-limit.js';
import { sessionId } from '../pipeline/session-id.js';
import { pipeline } from '../pipeline/stage.js';

/**
 * POST /v1/embeddings: after → auth → hold slot → session → parse → rate limit (input tokens
 * against TPM) → cache (exact repeats) → upstream → respond. No prompt compression (it would change the vectors).
 */
export function embeddingsRoute(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.post(
    '/embeddings',
    after(deps, 'embeddings'),
    pipeline(
      [
        auth(deps, 'chat'),
        holdSlot(deps),
        sessionId(),
        parseEmbeddings(deps),
        rateLimit(deps),
        embeddingsCache(deps),
        upstreamEmbeddings(deps),
      ],
      respondEmbeddings(deps),
    ),
  );
  return app;
}
