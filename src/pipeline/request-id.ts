import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import type { Clock } from '../runtime/clock.js';
import { isUuid, uuidv7 } from '../runtime/uuidv7.js';

/**
 * Gives every request an id (a client's own x-request-id is kept when it is a UUID, since the id
 * is also the interaction row's primary key) and notes its arrival time.
 */
export function requestId(deps: { clock: Clock }) {
  return async function requestId(c, next) {
    c.set('startedAt', deps.clock.monotonic());
    c.set('receivedAt', deps.clock.now());
    const sent = c.req.header('x-request-id');
    const id = sent && isUuid(sent) ? sent.toLowerCase() : uuidv7(deps.clock.now());
    c.set('requestId', id);
    c.header('x-request-id', id);
    await next();
  } satisfies MiddlewareHandler<AppEnv>;
}
