import type { Context } from 'hono';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import { requestHeader } from '../http/incoming.js';
import { setResponseHeader } from '../http/response-headers.js';
import { isSessionId, MAX_SESSION_ID_CHARS } from '../storage/session-id.js';
import type { Stage } from './stage.js';

/** The request header that names a session, echoed back in the response under the same name. */
export const SESSION_HEADER = 'x-tollgate-session-id';

/** The header's session id; absent when it was not sent, a 400 naming the header when it is bad. */
export function sessionIdOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!isSessionId(header)) {
    throw GatewayError.invalidRequest(
      `'${SESSION_HEADER}' must be 1 to ${MAX_SESSION_ID_CHARS} characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'.`,
      SESSION_HEADER,
      'invalid_session_id',
    );
  }
  return header;
}

/**
 * Joins the request to the session its `x-tollgate-session-id` header names, unless an earlier
 * stage already placed it in one (a stored conversation or response chain is the session of a
 * Responses request: the header cannot move it out). A bad header is refused even then, so a
 * client learns of its mistake on every endpoint alike. Without either, `fallback` may name one
 * (a first stored response starts its own session). The session is echoed back.
 */
export function sessionId(fallback?: (c: Context<AppEnv>) => string | undefined) {
  return function sessionId(c) {
    const fromHeader = sessionIdOf(requestHeader(c, SESSION_HEADER));
    const chosen = c.get('sessionId') ?? fromHeader ?? fallback?.(c);
    if (chosen !== undefined) {
      c.set('sessionId', chosen);
      setResponseHeader(c, SESSION_HEADER, chosen);
    }
  } satisfies Stage;
}
