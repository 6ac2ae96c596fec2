import type { Context } from 'hono';
import type { ResponseItem } from 'openai/resources/responses/responses';
import { countRequestTokens } from '../compression/token-count.js';
import type { ConversationStore } from '../conversations/conversation-store.js';
import { endedWhole, type ResponseStore } from '../conversations/response-store.js';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import { jsonObject, parseJsonBody } from '../http/json-body.js';
import { readBodyText } from '../http/read-body.js';
import { referencedItemIds, toChatCompletionsBody } from '../http/responses/chat-body.js';
import { newItemId, refuseDuplicateItems } from '../http/responses/item-ids.js';
import type { ResponsesRequest } from '../http/responses/responses-request.js';
import { parseResponsesRequest } from '../http/responses/responses-request.js';
import { storedInputItems } from '../http/responses/stored-items.js';
import { refuseUnpairedToolItems } from '../http/responses/tool-call-outputs.js';
import { storedNotFound } from '../http/stored-not-found.js';
import type { Clock } from '../runtime/clock.js';
import { noteAskedModel } from './asked-model.js';
import type { ParseDeps } from './parse-chat.js';
import { checkModel } from './parse-chat.js';
import type { Stage } from './stage.js';

/** What the Responses parse stage reads besides the body limits: the stored state. */
export interface ParseResponsesDeps extends ParseDeps {
  clock: Clock;
  responseStore: ResponseStore;
  conversationStore: ConversationStore;
}

/** The conversation so far that a request continues, and the session it belongs to. */
interface Prior {
  history: ResponseItem[];
  sessionId: string | null;
}

/**
 * Loads what a request continues: the items of its `previous_response_id` chain or of its
 * `conversation`, scoped to the key's tenant (another tenant's id is not found).
 */
async function priorOf(
  deps: ParseResponsesDeps,
  tenantId: string,
  request: ResponsesRequest,
): Promise<Prior> {
  if (request.previousResponseId !== null) {
    const id = request.previousResponseId;
    const chain = await deps.responseStore.chain(tenantId, id);
    if (chain === null) {
      throw GatewayError.invalidRequest(
        `Previous response with id '${id}' not found.`,
        'previous_response_id',
        'previous_response_not_found',
      );
    }
    // A response cut short (failed, or left by its client) has no whole answer to continue from:
    // its input is asked again by continuing the response before it.
    if (!endedWhole({ status: chain.status })) {
      throw GatewayError.invalidRequest(
        `Previous response with id '${id}' cannot be continued: it ended with status '${chain.status}'. Continue the response before it instead.`,
        'previous_response_id',
        'invalid_value',
      );
    }
    // A chain with a deleted (or pruned) earlier response cannot give the whole conversation.
    if (chain.missing !== null) {
      throw GatewayError.invalidRequest(
        `Previous response with id '${id}' cannot be continued: the earlier response '${chain.missing}' it continues was deleted.`,
        'previous_response_id',
        'previous_response_not_found',
      );
    }
    return { history: chain.items, sessionId: chain.sessionId };
  }
  if (request.conversationId !== null) {
    const history = await deps.conversationStore.history(tenantId, request.conversationId);
    if (history === null) {
      throw storedNotFound('Conversation', request.conversationId, 'conversation');
    }
    return { history, sessionId: request.conversationId };
  }
  return { history: [], sessionId: null };
}

/**
 * Reads a Responses API request and translates it to the chat completions request the rest of the
 * pipeline (limits, compression, cache, upstream) serves; the responder answers in the Responses
 * shape. A request that continues a stored response or a conversation sends the upstream the
 * whole conversation so far, and `item_reference` inputs are replaced by the stored items they name.
 */
export function parseResponses(deps: ParseResponsesDeps) {
  return async function parseResponses(c) {
    const text = await readBodyText(c, deps.config.maxBodyBytes, deps.config.bodyTimeoutMs);
    const json = parseJsonBody(text);
    noteAskedModel(c, json);
    const request = parseResponsesRequest(json);
    const key = c.get('apiKey');
    checkModel(key, request.model, deps.upstream);
    const prior = await priorOf(deps, key.tenantId, request);
    const references = await deps.responseStore.findItems(key.tenantId, referencedItemIds(request));
    const inputItems = storedInputItems(request, references);
    refuseDuplicateItems(inputItems, 'input', prior.history);
    refuseUnpairedToolItems(inputItems, prior.history);
    const body = toChatCompletionsBody(request, prior.history, references) as unknown as Record<
      string,
      unknown
    >;
    const id = newItemId('resp');
    c.set('responses', {
      id,
      createdAt: Math.floor(deps.clock.now() / 1_000),
      request,
      inputItems,
    });
    // A conversation or a chain is the session; a first response joins the client's
    // x-tollgate-session-id when it sends one, else starts its own (the session stage decides).
    const joined = request.conversationId ?? prior.sessionId;
    if (joined !== null) c.set('sessionId', joined);
    c.set('request', {
      body,
      clientBody: request.params as unknown as Record<string, unknown>,
      endpoint: 'responses',
      rawBody: null,
      model: request.model,
      messages: body.messages as Record<string, unknown>[],
      stream: request.stream,
      includeUsage: false,
      user: request.user,
      maxTokens: request.maxOutputTokens,
      n: 1,
    });
  } satisfies Stage;
}

/** The model whose encoding counts a request that names none (today's models share it). */
const COUNTING_MODEL = 'gpt-4o';

/**
 * POST /v1/responses/input_tokens: the input tokens a Responses request would send, as the
 * gateway counts them for a TPM reservation (the model's encoding; `instructions`, the conversation
 * so far or the `previous_response_id` chain, the input, tools and the response format). Its body
 * is a create request's, with `model` and `input` optional and nothing run.
 */
export async function countResponsesInput(
  deps: ParseResponsesDeps,
  c: Context<AppEnv>,
): Promise<number> {
  const text = await readBodyText(c, deps.config.maxBodyBytes, deps.config.bodyTimeoutMs);
  const json = jsonObject(parseJsonBody(text));
  // `personality` only shapes the answer's style; it is no parameter of a create request.
  const { personality: _personality, ...fields } = json;
  const named = fields.model !== undefined && fields.model !== null;
  const request = parseResponsesRequest({
    ...fields,
    model: named ? fields.model : COUNTING_MODEL,
    input: fields.input ?? [],
  });
  const key = c.get('apiKey');
  if (named) checkModel(key, request.model, deps.upstream);
  const prior = await priorOf(deps, key.tenantId, request);
  const references = await deps.responseStore.findItems(key.tenantId, referencedItemIds(request));
  const inputItems = storedInputItems(request, references);
  refuseDuplicateItems(inputItems, 'input', prior.history);
  refuseUnpairedToolItems(inputItems, prior.history);
  const body = toChatCompletionsBody(request, prior.history, references);
  return countRequestTokens(body as unknown as Record<string, unknown>, request.model);
}
