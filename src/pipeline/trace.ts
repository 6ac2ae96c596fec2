import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import type { Tracing } from '../runtime/tracing.js';
import { matchedRoute, UNMATCHED_ROUTE } from './access-log.js';

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
    if (trace && !c.get('reportedAfter')) {
      const route = matchedRoute(c);
      const status = c.res.status;
      // A path no route serves has no `http.route`: its span is named by the method alone.
      trace.end(
        route === UNMATCHED_ROUTE
          ? { 'http.response.status_code': status }
          : { 'http.route': route, 'http.response.status_code': status },
        status >= 500,
        null,
      );
    }
  } satisfies MiddlewareHandler<AppEnv>;
}
