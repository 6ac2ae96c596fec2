import { randomBytes } from 'node:crypto';
import type { Conversation } from 'openai/resources/conversations/conversations';
import type { ResponseItem } from 'openai/resources/responses/responses';
import type { Clock } from '../runtime/clock.js';
import type { Database } from '../storage/database.js';
import type {
  ConversationItemRow,
  ConversationRow,
  ItemPage,
  ListedItemRow,
} from '../storage/queries/conversations.js';
import {
  appendConversationItems,
  deleteConversation,
  deleteConversationItem,
  findConversation,
  findConversationItem,
  insertConversation,
  listConversationItems,
  updateConversationMetadata,
} from '../storage/queries/conversations.js';
import type { JsonSealer } from './sealed-json.js';
import { itemPlace } from './sealed-json.js';

/** A conversation's metadata: up to 16 string pairs, as OpenAI keeps them. */
export type ConversationMetadata = Record<string, string>;

/** A page of conversation items, as asked for. */
export interface ItemPageRequest {
  /** An item id: the page starts after it (in the order asked for). */
  after: string | null;
  limit: number;
  order: 'asc' | 'desc';
}

/** One page of items and whether more follow. */
export interface ItemPageResult {
  data: ResponseItem[];
  hasMore: boolean;
}

/** Why a page could not be listed. */
export type ItemPageOutcome =
  | { ok: true; page: ItemPageResult }
  | { ok: false; reason: 'conversation_not_found' | 'after_not_found' };

/** What adding items to a conversation came to: the items as stored, or why not. */
export type AddItemsOutcome =
  | { ok: true; items: ResponseItem[] }
  | { ok: false; reason: 'conversation_not_found' }
  /** An item with the id `itemId` is in the conversation already. */
  | { ok: false; reason: 'duplicate_item'; itemId: string };

/** Conversations and their items, encrypted per tenant and scoped to it in every read. */
export interface ConversationStore {
  create(
    tenantId: string,
    init: { metadata: ConversationMetadata; items: readonly ResponseItem[] },
  ): Promise<Conversation>;
  /** A tenant's conversation, or null (unknown, another tenant's, or unreadable). */
  get(tenantId: string, id: string): Promise<Conversation | null>;
  update(
    tenantId: string,
    id: string,
    metadata: ConversationMetadata,
  ): Promise<Conversation | null>;
  remove(tenantId: string, id: string): Promise<boolean>;
  /** Every item of a conversation, oldest first (the history a response continues), or null. */
  history(tenantId: string, id: string): Promise<ResponseItem[] | null>;
  listItems(tenantId: string, id: string, page: ItemPageRequest): Promise<ItemPageOutcome>;
  /** Appends items, unless the conversation is not found or already holds one of their ids. */
  addItems(tenantId: string, id: string, items: readonly ResponseItem[]): Promise<AddItemsOutcome>;
  getItem(tenantId: string, id: string, itemId: string): Promise<ResponseItem | null>;
  /** Deletes an item; the conversation after, or null when it or the item is not found. */
  removeItem(tenantId: string, id: string, itemId: string): Promise<Conversation | null>;
}

/** Most items a conversation gives a response as history (its first ones). */
const MAX_HISTORY_ITEMS = 10_000;

/** A new conversation id in OpenAI's shape: `conv_` and 48 random hex digits. */
export function newConversationId(): string {
  return `conv_${randomBytes(24).toString('hex')}`;
}

const metadataPlace = (tenantId: string, id: string) => ({
  tenantId,
  rowId: id,
  field: 'metadata',
});

/**
 * The rows of one page of a conversation's items and whether more follow. A page does not end on
 * a repeated id (one an earlier version stored twice; see listConversationItems): the next page
 * would start after that id's first copy, not this one, and the pages would never end. Such a
 * page takes in the items after it, up to one that is not repeated, however many that is.
 */
async function pageRows(
  db: Database,
  tenantId: string,
  id: string,
  page: ItemPage,
): Promise<{ rows: ListedItemRow[]; hasMore: boolean }> {
  const rows = await listConversationItems(db, tenantId, id, page);
  let end = Math.min(page.limit, rows.length);
  let exhausted = rows.length <= page.limit;
  while (end > 0 && end < rows.length && rows[end - 1]?.repeated) {
    end += 1;
    const last = rows[end - 1];
    if (end === rows.length && !exhausted && last) {
      const more = await listConversationItems(db, tenantId, id, {
        ...page,
        afterPosition: last.position,
      });
      exhausted = more.length <= page.limit;
      rows.push(...more);
    }
  }
  return { rows: rows.slice(0, end), hasMore: rows.length > end };
}

/** Builds the conversation service over the database and the tenants' data keys. */
export function createConversationStore(options: {
  db: Database;
  sealer: JsonSealer;
  clock: Clock;
}): ConversationStore {
  const { db, sealer, clock } = options;

  async function sealItems(tenantId: string, id: string, items: readonly ResponseItem[]) {
    const key = await sealer.keyFor(tenantId);
    const createdAt = new Date(clock.now());
    return Promise.all(
      items.map(async (item) => ({
        conversationId: id,
        tenantId,
        itemId: item.id,
        createdAt,
        itemEnc: await sealer.seal(key, item, itemPlace(tenantId, id, item.id)),
      })),
    );
  }

  async function openConversation(row: ConversationRow): Promise<Conversation | null> {
    const key = await sealer.openingKeyFor(row.tenantId);
    if (key === null) return null;
    const metadata = await sealer.open(key, row.metadataEnc, metadataPlace(row.tenantId, row.id));
    if (metadata === null) return null;
    return {
      id: row.id,
      object: 'conversation',
      created_at: Math.floor(row.createdAt.getTime() / 1_000),
      metadata,
    };
  }

  async function openItems(
    tenantId: string,
    rows: readonly ConversationItemRow[],
  ): Promise<ResponseItem[] | null> {
    const key = await sealer.openingKeyFor(tenantId);
    if (key === null) return null;
    const items = await Promise.all(
      rows.map((row) =>
        sealer.open(key, row.itemEnc, itemPlace(tenantId, row.conversationId, row.itemId)),
      ),
    );
    return items.some((item) => item === null) ? null : (items as ResponseItem[]);
  }

  async function found(tenantId: string, id: string): Promise<Conversation | null> {
    const row = await findConversation(db, tenantId, id);
    return row ? openConversation(row) : null;
  }

  return {
    async create(tenantId, init) {
      const id = newConversationId();
      const key = await sealer.keyFor(tenantId);
      const row = {
        id,
        tenantId,
        createdAt: new Date(clock.now()),
        metadataEnc: await sealer.seal(key, init.metadata, metadataPlace(tenantId, id)),
      };
      await insertConversation(db, row, await sealItems(tenantId, id, init.items));
      return {
        id,
        object: 'conversation',
        created_at: Math.floor(row.createdAt.getTime() / 1_000),
        metadata: init.metadata,
      };
    },

    get: found,

    async update(tenantId, id, metadata) {
      const key = await sealer.keyFor(tenantId);
      const sealed = await sealer.seal(key, metadata, metadataPlace(tenantId, id));
      const row = await updateConversationMetadata(db, tenantId, id, sealed);
      return row ? openConversation(row) : null;
    },

    remove: (tenantId, id) => deleteConversation(db, tenantId, id),

    async history(tenantId, id) {
      if ((await found(tenantId, id)) === null) return null;
      const rows = await listConversationItems(db, tenantId, id, {
        afterPosition: null,
        limit: MAX_HISTORY_ITEMS,
        order: 'asc',
      });
      return openItems(tenantId, rows.slice(0, MAX_HISTORY_ITEMS));
    },

    async listItems(tenantId, id, page) {
      if ((await found(tenantId, id)) === null) {
        return { ok: false, reason: 'conversation_not_found' };
      }
      let afterPosition: number | null = null;
      if (page.after !== null) {
        const after = await findConversationItem(db, tenantId, id, page.after, page.order);
        if (!after) return { ok: false, reason: 'after_not_found' };
        afterPosition = after.position;
      }
      const { rows, hasMore } = await pageRows(db, tenantId, id, {
        afterPosition,
        limit: page.limit,
        order: page.order,
      });
      const data = await openItems(tenantId, rows);
      if (data === null) return { ok: false, reason: 'conversation_not_found' };
      return { ok: true, page: { data, hasMore } };
    },

    async addItems(tenantId, id, items) {
      if ((await found(tenantId, id)) === null) {
        return { ok: false, reason: 'conversation_not_found' };
      }
      const added = await appendConversationItems(
        db,
        tenantId,
        id,
        await sealItems(tenantId, id, items),
      );
      return added.ok ? { ok: true, items: [...items] } : added;
    },

    async getItem(tenantId, id, itemId) {
      const row = await findConversationItem(db, tenantId, id, itemId);
      if (!row) return null;
      const [item] = (await openItems(tenantId, [row])) ?? [];
      return item ?? null;
    },

    async removeItem(tenantId, id, itemId) {
      const conversation = await found(tenantId, id);
      if (conversation === null) return null;
      const gone = await deleteConversationItem(db, tenantId, id, itemId);
      return gone ? conversation : null;
    },
  };
}
