import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import { requireChatKey } from '../pipeline/rate-limit.js';
import { errorReason } from '../runtime/error-reason.js';
import { listedModels, namedModels, routeModel } from '../upstream/routing-config.js';
import type { UpstreamModel } from '../upstream/upstream.js';

/** How long the upstream's model list is reused before it is asked again. */
const UPSTREAM_MODELS_TTL_MS = 60_000;
/** Listing models must not hang a client on a slow upstream. */
const UPSTREAM_MODELS_TIMEOUT_MS = 5_000;

/**
 * GET /v1/models and GET /v1/models/{id}: the models this key may use, in OpenAI's list and object
 * shapes, with the upstream's own `created` and `owned_by` where the upstream lists the model.
 */
export function modelsRoute(deps: Deps) {
  const app = new Hono<AppEnv>();
  let upstreamList: { models: UpstreamModel[] | null; at: number } | null = null;

  /** The upstream's list (reused for a minute), or null when it cannot be had. */
  async function upstreamModels(signal: AbortSignal): Promise<UpstreamModel[] | null> {
    const now = deps.clock.monotonic();
    if (upstreamList && now - upstreamList.at < UPSTREAM_MODELS_TTL_MS) return upstreamList.models;
    let models: UpstreamModel[] | null = null;
    try {
      const bounded = AbortSignal.any([signal, AbortSignal.timeout(UPSTREAM_MODELS_TIMEOUT_MS)]);
      models = await deps.upstream.listModels(bounded);
    } catch (err) {
      // A client that left ended the read, not the upstream: nothing to say or to keep, so the
      // next client reads the list again rather than a minute without it.
      if (signal.aborted) return null;
      deps.logger.warn({ reason: errorReason(err) }, 'listing upstream models failed');
    }
    upstreamList = { models, at: now };
    return models;
  }

  /** A model named by configuration or by the key, described from the upstream's list if it has it. */
  function describe(id: string, known: readonly UpstreamModel[] | null): UpstreamModel {
    const found = known?.find((m) => m.id === id);
    if (found) return found;
    const owner = routeModel(deps.routing, id)?.[0]?.upstream ?? 'tollgate';
    return { id, object: 'model', created: 0, owned_by: owner };
  }

  async function visibleModels(c: Context<AppEnv>): Promise<UpstreamModel[]> {
    const key = c.get('apiKey');
    const signal = c.req.raw.signal;
    const named = key.allowedModels ?? listedModels(deps.routing);
    const known = await upstreamModels(signal);
    if (named !== null) {
      // A key's list may name a model twice; OpenAI's list names each model once.
      return [...new Set(named)]
        .filter((m) => deps.upstream.serves(m))
        .map((m) => describe(m, known));
    }
    if (known === null) {
      upstreamList = null;
      throw GatewayError.upstreamFailed('Could not list the upstream provider models.');
    }
    // Beside `*`, the routing file may name models (aliases among them) the upstream does not
    // list: the key may use them, so they are listed and found like the upstream's own.
    const routed = namedModels(deps.routing).filter((m) => !known.some((k) => k.id === m));
    return [...known, ...routed.map((m) => describe(m, known))];
  }

  app.get('/models', requireChatKey(deps), async (c) => {
    return c.json({ object: 'list', data: await visibleModels(c) });
  });

  app.get('/models/:id{.+}', requireChatKey(deps), async (c) => {
    const id = c.req.param('id');
    const model = (await visibleModels(c)).find((m) => m.id === id);
    if (!model) throw GatewayError.modelNotFound(id);
    return c.json(model);
  });
  return app;
}
