import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import { pageOf, parseListParams } from '../http/list-page.js';
import { unsupported } from '../http/responses/request-errors.js';
import { checkIncludeQuery } from '../http/responses/unsupported-parameters.js';
import { storedNotFound } from '../http/stored-not-found.js';
import { after } from '../pipeline/after.js';
import { auth } from '../pipeline/auth.js';
import { cache } from '../pipeline/cache.js';
import { compress } from '../pipeline/compress.js';
import { holdSlot } from '../pipeline/hold-slot.js';
import { countResponsesInput, parseResponses } from '../pipeline/parse-responses.js';
import { plainUrl } from '../pipeline/plain-url.js';
import { rateLimit, requireChatKey } from '../pipeline/rate-limit.js';
import { respond } from '../pipeline/respond.js';
import { sessionId } from '../pipeline/session-id.js';
import { pipeline } from '../pipeline/stage.js';
import { upstream } from '../pipeline/upstream.js';

/**
 * POST /v1/responses: the Responses API over the same stages as chat completions, translated to
 * the upstream's chat completions; only the parse stage differs, and the responder's wire format.
 * GET and DELETE /v1/responses/{id} and GET /v1/responses/{id}/input_items read the stored ones,
 * the key's tenant's only; POST /v1/responses/input_tokens counts a request's input, runs nothing;
 * POST /v1/responses/{id}/cancel refuses (no background responses here).
 * The session header applies after the parse, so a stored conversation or chain keeps its session.
 */
export function responsesRoute(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.post(
    '/responses',
    after(deps, 'responses'),
    pipeline(
      [
        auth(deps, 'chat'),
        holdSlot(deps),
        parseResponses(deps),
        sessionId((c) => c.get('responses').id),
        rateLimit(deps),
        compress(deps),
        cache(deps),
        upstream(deps),
      ],
      respond(deps),
    ),
  );
  // A stored response's id (or an `after` item id) with a NUL in it names nothing the database
  // can compare: a 400, as on the admin and analytics routes.
  app.use('/responses/:id', plainUrl());
  app.use('/responses/:id/*', plainUrl());
  // `POST /responses/input_tokens` as a parameter route: beside `/responses/:id/cancel`, a static
  // segment would leave Hono's RegExpRouter unable to hold the routes, and every request of the
  // gateway would be matched by its slower trie router instead.
  app.post(
    '/responses/:id',
    async (c, next) => {
      if (c.req.param('id') !== 'input_tokens') throw GatewayError.unknownRoute('POST', c.req.path);
      c.set('routeTemplate', '/v1/responses/input_tokens');
      await next();
    },
    requireChatKey(deps),
    async (c) =>
      c.json({ object: 'response.input_tokens', input_tokens: await countResponsesInput(deps, c) }),
  );
  app.get('/responses/:id', requireChatKey(deps), async (c) => {
    const id = c.req.param('id');
    if (c.req.query('stream') === 'true') {
      throw unsupported('stream', 'Replaying a stored response as a stream');
    }
    const stored = await deps.responseStore.get(c.get('apiKey').tenantId, id);
    if (stored === null) throw storedNotFound('Response', id);
    return c.json(stored.response);
  });
  app.delete('/responses/:id', requireChatKey(deps), async (c) => {
    const id = c.req.param('id');
    if (!(await deps.responseStore.remove(c.get('apiKey').tenantId, id))) {
      throw storedNotFound('Response', id);
    }
    return c.json({ id, object: 'response.deleted', deleted: true });
  });
  // Only a background response can be cancelled; this gateway runs none, so a stored one (always
  // finished) is refused as OpenAI refuses a foreground response, and an unknown id is a 404.
  app.post('/responses/:id/cancel', requireChatKey(deps), async (c) => {
    const id = c.req.param('id');
    const stored = await deps.responseStore.get(c.get('apiKey').tenantId, id);
    if (stored === null) throw storedNotFound('Response', id);
    throw GatewayError.invalidRequest(
      'Only responses created with background=true can be cancelled; this response was not, and it has already finished.',
    );
  });
  app.get('/responses/:id/input_items', requireChatKey(deps), async (c) => {
    const id = c.req.param('id');
    const params = parseListParams((name) => c.req.query(name));
    checkIncludeQuery((name) => c.req.queries(name));
    const stored = await deps.responseStore.get(c.get('apiKey').tenantId, id);
    if (stored === null) throw storedNotFound('Response', id);
    const page = pageOf(stored.inputItems, params);
    if (page === null) throw storedNotFound('Item', params.after ?? '', 'after');
    return c.json(page);
  });
  return app;
}
