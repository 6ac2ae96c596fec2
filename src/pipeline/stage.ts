import type { Context, Handler, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';

/**
 * One stage of an endpoint's pipeline: reads the context's data, adds its own, and ends the request
 * early only by throwing a `GatewayError` (or, on a cache hit, by leaving the answer in the
 * context). A stage with nothing to wait for returns nothing, so the request pays for no promise
 * it does not need.
 */
export type Stage = (c: Context<AppEnv>) => void | Promise<void>;

/** Turns the answer the stages left in the context into the response. */
export type Responder = (c: Context<AppEnv>) => Response | Promise<Response>;

/**
 * An endpoint's stages, in order, then its responder, as one route handler. Each stage starts once
 * the one before it has finished; an error a stage throws ends the request and reaches the app's
 * error handler (and the after-response step placed before the pipeline) as it would from a
 * middleware. One handler rather than a middleware per stage: Hono's dispatcher costs each
 * middleware two async frames and a closure per request, more than most stages' own work.
 */
export function pipeline(stages: readonly Stage[], responder: Responder): Handler<AppEnv> {
  return async function pipeline(c) {
    for (const stage of stages) {
      const pending = stage(c);
      if (pending !== undefined) await pending;
    }
    return responder(c);
  };
}

/** A stage as a middleware, for the routes that are not a pipeline (reads, admin). */
export function stageMiddleware(stage: Stage): MiddlewareHandler<AppEnv> {
  return async function stageThenNext(c, next) {
    await stage(c);
    await next();
  };
}
