import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import type { AppEnv } from '../http/env.js';
import { after } from '../pipeline/after.js';
import { auth } from '../pipeline/auth.js';
import { cache } from '../pipeline/cache.js';
import { compress } from '../pipeline/compress.js';
import { holdSlot } from '../pipeline/hold-slot.js';
import { parseChat } from '../pipeline/parse-chat.js';
import { rateLimit } from '../pipeline/rate-limit.js';
import { respond } from '../pipeline/respond.js';
import { sessionId } from '../pipeline/session-id.js';
import { pipeline } from '../pipeline/stage.js';
import { upstream } from '../pipeline/upstream.js';

/**
 * POST /v1/chat/completions. The pipeline order is written here, once:
 * after (runs after the response) → auth → hold a concurrency slot → session
 * (`x-tollgate-session-id`) → parse → rate limit → compress → cache → upstream → respond. The cache
 * stage sees the request as it will go upstream (after compression).
 */
export function chatCompletionsRoute(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.post(
    '/chat/completions',
    after(deps, 'chat.completions'),
    pipeline(
      [
        auth(deps, 'chat'),
        holdSlot(deps),
        sessionId(),
        parseChat(deps),
        rateLimit(deps),
        compress(deps),
        cache(deps),
        upstream(deps),
      ],
      respond(deps),
    ),
  );
  return app;
}
