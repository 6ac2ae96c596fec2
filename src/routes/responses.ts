import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import type { AppEnv } from '../http/env.js';
import { after } from '../pipeline/after.js';
import { auth } from '../pipeline/auth.js';
import { cache } from '../pipeline/cache.js';
import { compress } from '../pipeline/compress.js';
import { holdSlot } from '../pipeline/hold-slot.js';
import { parseResponses } from '../pipeline/parse-responses.js';
import { rateLimit } from '../pipeline/rate-limit.js';
import { respond } from '../pipeline/respond.js';
import { sessionId } from '../pipeline/session-id.js';
import { upstream } from '../pipeline/upstream.js';

/**
 * POST /v1/responses: the Responses API over the same stages as chat completions, translated to
 * the upstream's chat completions; only the parse stage differs, and the responder's wire format.
 * The session header applies after the parse, so a stored conversation or chain keeps its session.
 */
export function responsesRoute(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.post(
    '/responses',
    after(deps),
    auth(deps, 'chat'),
    holdSlot(deps),
    parseResponses(deps),
    sessionId(),
    rateLimit(deps),
    compress(deps),
    cache(deps),
    upstream(deps),
    respond(deps),
  );
  return app;
}
