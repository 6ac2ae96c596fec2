import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';

const NUL = '\u0000';

function decodedPath(path: string): string | null {
  try {
    return decodeURIComponent(path);
  } catch {
    return null;
  }
}

/**
 * Refuses a path or query value holding a NUL character (or a path that does not decode) with a
 * 400: the database cannot compare text with NUL in it, so such a value would otherwise end as a
 * failed query and a 500.
 */
export function plainUrl() {
  return async function plainUrl(c, next) {
    const path = decodedPath(new URL(c.req.url).pathname);
    if (path === null || path.includes(NUL)) {
      throw GatewayError.invalidRequest(
        'The request path holds a NUL character or an invalid percent-encoding.',
        null,
        'invalid_value',
      );
    }
    for (const [name, values] of Object.entries(c.req.queries())) {
      if (name.includes(NUL) || values.some((value) => value.includes(NUL))) {
        throw GatewayError.invalidRequest(
          `The query parameter '${name.replaceAll(NUL, '\\0')}' holds a NUL character.`,
          name.replaceAll(NUL, '\\0'),
          'invalid_value',
        );
      }
    }
    await next();
  } satisfies MiddlewareHandler<AppEnv>;
}
