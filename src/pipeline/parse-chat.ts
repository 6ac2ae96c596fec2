import type { MiddlewareHandler } from 'hono';
import { parseChatRequest } from '../http/chat-request.js';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import { readBodyText } from '../http/read-body.js';
import type { Upstream } from '../upstream/upstream.js';

/** Reads and validates the chat request, and checks the key may use the model. */
export function parseChat(deps: {
  upstream: Upstream;
  config: { maxBodyBytes: number; bodyTimeoutMs: number };
}) {
  return async function parseChat(c, next) {
    const text = await readBodyText(c.req.raw, deps.config.maxBodyBytes, deps.config.bodyTimeoutMs);
    const request = parseChatRequest(text);
    const key = c.get('apiKey');
    if (key.allowedModels !== null && !key.allowedModels.includes(request.model)) {
      throw GatewayError.modelNotAllowed(request.model);
    }
    if (!deps.upstream.serves(request.model)) throw GatewayError.modelNotFound(request.model);
    c.set('request', request);
    await next();
  } satisfies MiddlewareHandler<AppEnv>;
}
