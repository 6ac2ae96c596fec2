import type { Context } from 'hono';
import type { ResponseStore } from '../conversations/response-store.js';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import { duplicateItem } from '../http/responses/item-ids.js';
import type { ResponseContext, ResponseObject } from '../http/responses/response-shell.js';
import { storedOutputItems } from '../http/responses/stored-items.js';
import type { Logger } from '../runtime/logger.js';
import { withTimeout } from '../runtime/with-timeout.js';

/**
 * Longest wait for a response's write before it is sent anyway (as not stored): a database that
 * does not answer must not hold the client's last bytes.
 */
const STORE_TIMEOUT_MS = 5_000;

/** What storing a response needs. */
export interface KeepDeps {
  responseStore: ResponseStore;
  logger: Logger;
}

/**
 * Stores a finished response when its request asked for it (`store`, true by default), before the
 * client receives its last bytes, so a request chained on it right away always finds it; however
 * it ended (a stream that failed or that its client left is kept with its status and the output
 * so far). A response that could not be stored says so: it goes out with `store: false`. One
 * whose turn another turn's items now clash with in its conversation is refused (a GatewayError,
 * 400).
 */
export function responseKeeper(
  deps: KeepDeps,
  c: Context<AppEnv>,
  context: ResponseContext,
): (response: ResponseObject) => Promise<ResponseObject> {
  const key = c.get('apiKey');
  const requestId = c.get('requestId');
  const sessionId = c.get('sessionId') ?? context.id;
  return async function keepResponse(response) {
    const { request } = context;
    if (!request.store) return response;
    try {
      const saving = deps.responseStore.save({
        id: response.id,
        tenantId: key.tenantId,
        keyId: key.id,
        createdAt: new Date(response.created_at * 1_000),
        previousResponseId: request.previousResponseId,
        conversationId: request.conversationId,
        sessionId,
        response: { ...response },
        inputItems: context.inputItems ?? [],
        outputItems: storedOutputItems(response),
      });
      const saved = await withTimeout(saving, STORE_TIMEOUT_MS, 'storing the response timed out');
      if (saved.ok) return response;
      // Another turn stored one of this turn's items in the conversation after this request was
      // read: the conversation cannot take the turn, so it is refused as it would have been then.
      if (saved.reason === 'duplicate_item') throw duplicateItem(saved.itemId, 'input');
      deps.logger.warn({ requestId }, 'response not stored: its conversation was deleted');
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      deps.logger.error({ err, requestId }, 'response could not be stored');
    }
    return { ...response, store: false };
  };
}
