import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import { parseJsonBody } from '../http/json-body.js';
import { readBodyText } from '../http/read-body.js';
import { toChatCompletionsBody } from '../http/responses/chat-body.js';
import { newItemId } from '../http/responses/item-ids.js';
import { parseResponsesRequest } from '../http/responses/responses-request.js';
import type { Clock } from '../runtime/clock.js';
import type { ParseDeps } from './parse-chat.js';
import { checkModel } from './parse-chat.js';

function notKept(param: string): GatewayError {
  return GatewayError.invalidRequest(
    `'${param}' needs stored responses, which this gateway does not keep yet: send the whole conversation as 'input' instead.`,
    param,
    'unsupported_parameter',
  );
}

/**
 * Reads a Responses API request and translates it to the chat completions request the rest of the
 * pipeline (limits, compression, cache, upstream) serves; the responder answers in the Responses
 * shape. Responses are not stored yet: they are answered with `store: false`, and what needs a
 * stored response (`previous_response_id`, `conversation`, item references) is refused with 400.
 */
export function parseResponses(deps: ParseDeps & { clock: Clock }) {
  return async function parseResponses(c, next) {
    const text = await readBodyText(c.req.raw, deps.config.maxBodyBytes, deps.config.bodyTimeoutMs);
    const parsed = parseResponsesRequest(parseJsonBody(text));
    if (parsed.previousResponseId !== null) throw notKept('previous_response_id');
    if (parsed.conversationId !== null) throw notKept('conversation');
    checkModel(c.get('apiKey'), parsed.model, deps.upstream);
    const request = { ...parsed, store: false };
    const body = toChatCompletionsBody(request) as unknown as Record<string, unknown>;
    c.set('responses', {
      id: newItemId('resp'),
      createdAt: Math.floor(deps.clock.now() / 1_000),
      request,
    });
    c.set('request', {
      body,
      clientBody: parsed.params as unknown as Record<string, unknown>,
      endpoint: 'responses',
      rawBody: null,
      model: parsed.model,
      messages: body.messages as Record<string, unknown>[],
      stream: parsed.stream,
      includeUsage: false,
      user: parsed.user,
      maxTokens: parsed.maxOutputTokens,
      n: 1,
    });
    await next();
  } satisfies MiddlewareHandler<AppEnv>;
}
