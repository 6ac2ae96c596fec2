import { GatewayError } from '../http/errors.js';
import { requestHeader } from '../http/incoming.js';
import type { KeyVerifier } from '../keys/key-verifier.js';
import { KeyStoreUnavailable } from '../keys/key-verifier.js';
import type { Stage } from './stage.js';
import { stageMiddleware } from './stage.js';

const REJECTION_MESSAGES = {
  malformed: 'Incorrect API key provided. Tollgate keys look like tg_<id>_<secret>.',
  unknown: 'Incorrect API key provided.',
  wrong_secret: 'Incorrect API key provided.',
  revoked: 'This API key has been revoked.',
  expired: 'This API key has expired.',
} as const;

/** Authenticates the bearer key and requires one of the given scopes. */
export function auth(deps: { keys: KeyVerifier }, ...scopes: string[]) {
  return async function auth(c) {
    const header = requestHeader(c, 'authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      throw GatewayError.invalidApiKey(
        "You didn't provide an API key. Provide it in the Authorization header as 'Bearer tg_…'.",
      );
    }
    const check = await deps.keys.verify(match[1]).catch((err: unknown) => {
      if (err instanceof KeyStoreUnavailable) {
        throw GatewayError.notReady('API keys cannot be checked right now; try again shortly.');
      }
      throw err;
    });
    if (!check.ok) throw GatewayError.invalidApiKey(REJECTION_MESSAGES[check.reason]);
    if (scopes.length > 0 && !scopes.some((s) => check.key.scopes.includes(s))) {
      // The key was verified: its refusal is logged under its id, as every other answer to it is.
      c.set('refusedKeyId', check.key.id);
      throw GatewayError.insufficientScope(scopes.join(' or '));
    }
    c.set('apiKey', check.key);
  } satisfies Stage;
}

/** `auth` as a middleware, for the routes that are not a pipeline (reads, admin, analytics). */
export function requireKey(deps: { keys: KeyVerifier }, ...scopes: string[]) {
  return stageMiddleware(auth(deps, ...scopes));
}
