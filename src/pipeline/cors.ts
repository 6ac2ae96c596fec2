import type { Context, Handler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import { requestHeader } from '../http/incoming.js';
import { setResponseHeader } from '../http/response-headers.js';

/** How long a browser may reuse a preflight's answer (its own cap may be lower). */
const PREFLIGHT_MAX_AGE_S = '86400';
const METHODS = 'GET, POST, DELETE, OPTIONS';

/**
 * Cross-origin calls to `/v1` from browsers, as OpenAI's API allows them (the openai SDK's
 * `dangerouslyAllowBrowser`). Keys travel in the Authorization header, never in cookies, so
 * credentials are never allowed. Two parts: `headers`, called by the first middleware for every
 * request (a request without `Origin`, as every server-side client sends, costs one header
 * lookup and no extra middleware), gives an allowed origin's answer, errors included,
 * `Access-Control-Allow-Origin` and every response header exposed (the rate limits, the request
 * id); `preflight`, the `OPTIONS /v1/*` route, answers a preflight from an allowed origin 204 with
 * the methods and the headers it asked for.
 */
export interface Cors {
  headers(c: Context<AppEnv>): void;
  preflight: Handler<AppEnv>;
}

/** CORS for the allowed origins: `*` (any) or a list of lower-case origins. */
export function cors(origins: '*' | readonly string[]): Cors {
  const listed = origins === '*' ? null : new Set(origins);
  /** What `Access-Control-Allow-Origin` says to this request, or null when it gets no CORS. */
  function allowOrigin(c: Context<AppEnv>): string | null {
    const origin = requestHeader(c, 'origin');
    if (origin === undefined || !c.req.path.startsWith('/v1/')) return null;
    if (listed === null) return '*';
    return listed.has(origin.toLowerCase()) ? origin : null;
  }
  return {
    headers(c) {
      const allow = allowOrigin(c);
      if (allow === null) return;
      setResponseHeader(c, 'access-control-allow-origin', allow);
      setResponseHeader(c, 'access-control-expose-headers', '*');
      if (listed !== null) setResponseHeader(c, 'vary', 'origin');
    },
    preflight(c) {
      if (allowOrigin(c) === null || !requestHeader(c, 'access-control-request-method')) {
        throw GatewayError.unknownRoute(c.req.method, c.req.path);
      }
      const headers: Record<string, string> = {
        'access-control-allow-methods': METHODS,
        'access-control-max-age': PREFLIGHT_MAX_AGE_S,
        vary:
          listed === null
            ? 'access-control-request-headers'
            : 'origin, access-control-request-headers',
      };
      const asked = requestHeader(c, 'access-control-request-headers');
      if (asked) headers['access-control-allow-headers'] = asked;
      return c.body(null, 204, headers);
    },
  };
}
