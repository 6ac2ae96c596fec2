import type { Context } from 'hono';
import { Hono } from 'hono';
import type { ResponseItem } from 'openai/resources/responses/responses';
import { TenantForgottenError } from '../conversations/sealed-json.js';
import type { Deps } from '../deps.js';
import {
  parseConversationCreate,
  parseConversationUpdate,
  parseItemsAdd,
} from '../http/conversation-bodies.js';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import { parseJsonBody } from '../http/json-body.js';
import { listPage, parseListParams } from '../http/list-page.js';
import { readBodyText } from '../http/read-body.js';
import { duplicateItem, refuseDuplicateItems } from '../http/responses/item-ids.js';
import { storedItemsOf } from '../http/responses/stored-items.js';
import { checkIncludeQuery } from '../http/responses/unsupported-parameters.js';
import { storedNotFound } from '../http/stored-not-found.js';
import { plainUrl } from '../pipeline/plain-url.js';
import { requireChatKey } from '../pipeline/rate-limit.js';
import { isRecord } from '../runtime/is-record.js';

/** The JSON body; an empty one counts as `{}` where every field is optional (`emptyIsObject`). */
async function jsonOf(deps: Deps, c: Context<AppEnv>, emptyIsObject = false): Promise<unknown> {
  const text = await readBodyText(c, deps.config.maxBodyBytes, deps.config.bodyTimeoutMs);
  return emptyIsObject && text.trim() === '' ? {} : parseJsonBody(text);
}

/**
 * Work that seals with the tenant's data key: a tenant forgotten in the last seconds (its key
 * still cached as valid) has no key left, and is answered as its keys are, revoked.
 */
async function sealing<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof TenantForgottenError) {
      throw GatewayError.invalidApiKey('This API key has been revoked.');
    }
    throw err;
  }
}

/** Items as stored (with ids), `item_reference`s replaced by the tenant's items they name. */
async function storedItems(
  deps: Deps,
  tenantId: string,
  raw: readonly unknown[],
): Promise<ResponseItem[]> {
  const ids = raw
    .filter(isRecord)
    .flatMap((item) => (item.type === 'item_reference' ? [String(item.id)] : []));
  const references = await deps.responseStore.findItems(tenantId, ids);
  const missing = ids.find((id) => !references.has(id));
  if (missing !== undefined) {
    throw GatewayError.invalidRequest(
      `Item with id '${missing}' not found.`,
      'items',
      'item_not_found',
    );
  }
  return storedItemsOf(raw, references);
}

/**
 * The Conversations API: conversations and their items, stored encrypted per tenant; a
 * conversation given to `POST /v1/responses` is the history of the turn, which is appended to it.
 * Every id is looked up in the key's tenant only: another tenant's is not found.
 */
export function conversationsRoute(deps: Deps) {
  const store = deps.conversationStore;
  const app = new Hono<AppEnv>();
  app.use('/conversations', requireChatKey(deps));
  app.use('/conversations/*', requireChatKey(deps));
  // Ids (and `after`) with a NUL in them name nothing the database can compare: a 400.
  app.use('/conversations/*', plainUrl());
  const tenantOf = (c: Context<AppEnv>) => c.get('apiKey').tenantId;

  app.post('/conversations', async (c) => {
    const body = parseConversationCreate(await jsonOf(deps, c, true));
    const tenantId = tenantOf(c);
    const items = await storedItems(deps, tenantId, body.items);
    refuseDuplicateItems(items, 'items');
    return c.json(await sealing(store.create(tenantId, { metadata: body.metadata, items })));
  });

  app.get('/conversations/:id', async (c) => {
    const id = c.req.param('id');
    const conversation = await store.get(tenantOf(c), id);
    if (conversation === null) throw storedNotFound('Conversation', id);
    return c.json(conversation);
  });

  app.post('/conversations/:id', async (c) => {
    const id = c.req.param('id');
    const metadata = parseConversationUpdate(await jsonOf(deps, c));
    const conversation = await sealing(store.update(tenantOf(c), id, metadata));
    if (conversation === null) throw storedNotFound('Conversation', id);
    return c.json(conversation);
  });

  app.delete('/conversations/:id', async (c) => {
    const id = c.req.param('id');
    if (!(await store.remove(tenantOf(c), id))) throw storedNotFound('Conversation', id);
    return c.json({ id, object: 'conversation.deleted', deleted: true });
  });

  app.get('/conversations/:id/items', async (c) => {
    const id = c.req.param('id');
    const params = parseListParams((name) => c.req.query(name));
    checkIncludeQuery((name) => c.req.queries(name));
    const listed = await store.listItems(tenantOf(c), id, params);
    if (!listed.ok) {
      throw listed.reason === 'after_not_found'
        ? storedNotFound('Item', params.after ?? '', 'after')
        : storedNotFound('Conversation', id);
    }
    return c.json(listPage(listed.page.data, listed.page.hasMore));
  });

  app.post('/conversations/:id/items', async (c) => {
    const id = c.req.param('id');
    checkIncludeQuery((name) => c.req.queries(name));
    const raw = parseItemsAdd(await jsonOf(deps, c));
    const tenantId = tenantOf(c);
    const items = await storedItems(deps, tenantId, raw);
    refuseDuplicateItems(items, 'items');
    const added = await sealing(store.addItems(tenantId, id, items));
    if (!added.ok) {
      throw added.reason === 'duplicate_item'
        ? duplicateItem(added.itemId, 'items')
        : storedNotFound('Conversation', id);
    }
    return c.json(listPage(added.items, false));
  });

  app.get('/conversations/:id/items/:itemId', async (c) => {
    const { id, itemId } = c.req.param();
    checkIncludeQuery((name) => c.req.queries(name));
    const item = await store.getItem(tenantOf(c), id, itemId);
    if (item === null) throw storedNotFound('Item', itemId);
    return c.json(item);
  });

  app.delete('/conversations/:id/items/:itemId', async (c) => {
    const { id, itemId } = c.req.param();
    const conversation = await store.removeItem(tenantOf(c), id, itemId);
    if (conversation === null) throw storedNotFound('Item', itemId);
    return c.json(conversation);
  });
  return app;
}
