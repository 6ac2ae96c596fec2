import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { incomingOf, outgoingOf, requestHeader } from '../http/incoming.js';
import { applyGatheredHeaders, setResponseHeader } from '../http/response-headers.js';
import type { Clock } from '../runtime/clock.js';
import type { ShutdownNotice } from '../runtime/shutdown-notice.js';
import { uuidv7 } from '../runtime/uuidv7.js';
import type { Cors } from './cors.js';

/** Longest client request id kept: longer ones are dropped, not cut (a cut id matches nothing). */
export const MAX_CLIENT_REQUEST_ID_CHARS = 128;
const SANE_TOKEN = /^[A-Za-z0-9._:@/+=-]+$/;

/** The client's own request id, if it sent a sane one (`x-client-request-id` or `x-request-id`). */
export function clientRequestIdOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  const id = header.trim();
  if (id === '' || id.length > MAX_CLIENT_REQUEST_ID_CHARS || !SANE_TOKEN.test(id)) return null;
  return id;
}

/**
 * Gives every request the gateway's own id (a UUIDv7, also the interaction row's primary key, so
 * no client can make two answers share one row) and notes its arrival time. A client's own sane
 * request id is kept beside it and echoed back in `x-client-request-id`. Being the first middleware,
 * it also gives a browser's cross-origin request its CORS headers (`cors`), so they cost no
 * middleware of their own, and, once the gateway's stop is draining, `Connection: close`.
 */
export function requestId(
  deps: { clock: Clock; shutdown: ShutdownNotice },
  cors: Cors | null = null,
) {
  return async function requestId(c, next) {
    c.set('startedAt', deps.clock.monotonic());
    const now = deps.clock.now();
    c.set('receivedAt', now);
    const id = uuidv7(now);
    c.set('requestId', id);
    setResponseHeader(c, 'x-request-id', id);
    const own = clientRequestIdOf(
      requestHeader(c, 'x-client-request-id') ?? requestHeader(c, 'x-request-id'),
    );
    if (own !== null) {
      c.set('clientRequestId', own);
      setResponseHeader(c, 'x-client-request-id', own);
    }
    cors?.headers(c);
    await next();
    // The connection ends with the answer, which says so (a client pooling connections would
    // otherwise send its next request on one being closed): after the stop's drain has begun (for
    // a request that began before it), and when the request has not arrived whole (a body refused
    // as too large, or not waited for any longer: the gateway does not read the rest).
    // (A stream written straight onto the Node response has sent its headers: see relayStreamTo.)
    const incoming = incomingOf(c);
    const early = incoming !== null && !incoming.complete;
    if ((early || deps.shutdown.draining) && outgoingOf(c)?.headersSent !== true) {
      setResponseHeader(c, 'connection', 'close');
    }
    applyGatheredHeaders(c);
  } satisfies MiddlewareHandler<AppEnv>;
}
