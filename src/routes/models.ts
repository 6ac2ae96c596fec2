import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import { auth } from '../pipeline/auth.js';
import { listedModels } from '../upstream/routing-config.js';

/** GET /v1/models: the models this key may use, in OpenAI's list shape. */
export function modelsRoute(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.get('/models', auth(deps, 'chat'), async (c) => {
    const key = c.get('apiKey');
    let ids: readonly string[];
    if (key.allowedModels !== null) {
      ids = key.allowedModels.filter((m) => deps.upstream.serves(m));
    } else {
      const listed = listedModels(deps.routing);
      if (listed) {
        ids = listed;
      } else {
        try {
          ids = await deps.upstream.listModels(c.req.raw.signal);
        } catch (err) {
          deps.logger.warn({ err: (err as Error).message }, 'listing upstream models failed');
          throw GatewayError.upstreamFailed('Could not list the upstream provider models.');
        }
      }
    }
    return c.json({
      object: 'list',
      data: ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'tollgate' })),
    });
  });
  return app;
}
