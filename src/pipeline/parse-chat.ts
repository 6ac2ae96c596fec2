import { parseChatRequest } from '../http/chat-request.js';
import { GatewayError } from '../http/errors.js';
import { parseJsonBody } from '../http/json-body.js';
import { readBodyText } from '../http/read-body.js';
import type { VerifiedKey } from '../keys/key-verifier.js';
import type { Upstream } from '../upstream/upstream.js';
import { noteAskedModel } from './asked-model.js';
import type { Stage } from './stage.js';

/** What the parse stages read: the body limits and the upstream's routes. */
export interface ParseDeps {
  upstream: Upstream;
  config: { maxBodyBytes: number; bodyTimeoutMs: number };
}

/** Refuses a model the key may not use (403) or that no upstream serves (404). */
export function checkModel(key: VerifiedKey, model: string, upstream: Upstream): void {
  if (key.allowedModels !== null && !key.allowedModels.includes(model)) {
    throw GatewayError.modelNotAllowed(model);
  }
  if (!upstream.serves(model)) throw GatewayError.modelNotFound(model);
}

/** Reads and validates the chat request, and checks the key may use the model. */
export function parseChat(deps: ParseDeps) {
  return async function parseChat(c) {
    const text = await readBodyText(c, deps.config.maxBodyBytes, deps.config.bodyTimeoutMs);
    const json = parseJsonBody(text);
    noteAskedModel(c, json);
    const request = parseChatRequest(text, json);
    checkModel(c.get('apiKey'), request.model, deps.upstream);
    c.set('request', request);
  } satisfies Stage;
}
