import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import type { Tracing } from '../runtime/tracing.js';
import { matchedRoute } from './access-log.js';

/**
 * Starts the request's span (continuing the client's `traceparent`) for every request; installed
 * only when tracing is on. Routes without an after-response step end it here; the pipeline routes end it after
 * their row is recorded.
 */
export function traceRequest(deps: { tracing: Tracing }) {
  return async function traceRequest(c, next) {
    const trace = deps.tracing.startRequest(c.req.raw.headers, c.req.method, c.req.path, {
      'tollgate.request_id': c.get('requestId'),
    });
    if (trace) c.set('trace', trace);
    await next();
    if (!c.get('reportedAfter')) {
      trace?.end(
        { 'http.route': matchedRoute(c), 'http.response.status_code': c.res.status },
        c.res.status >= 500,
      );
    }
  } satisfies MiddlewareHandler<AppEnv>;
}
