import type { InferInsertModel, InferSelectModel } from 'drizzle-orm';
import { and, asc, desc, eq, gt, inArray, lt, max } from 'drizzle-orm';
import type { Database } from '../database.js';
import { conversationItems, conversations } from '../schema.js';
import { deleteTenantOwned, findTenantOwned } from './tenant-owned.js';

/** A conversation row (its metadata still sealed). */
export type ConversationRow = InferSelectModel<typeof conversations>;
/** A conversation item row (the item still sealed). */
export type ConversationItemRow = InferSelectModel<typeof conversationItems>;
/** A conversation item ready to insert. */
export type NewConversationItem = InferInsertModel<typeof conversationItems>;

/** Creates a conversation with its first items (positions 0, 1, …) in one transaction. */
export async function insertConversation(
  db: Database,
  row: InferInsertModel<typeof conversations>,
  items: readonly Omit<NewConversationItem, 'position'>[],
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.insert(conversations).values(row);
    if (items.length > 0) {
      await tx.insert(conversationItems).values(items.map((item, i) => ({ ...item, position: i })));
    }
  });
}

const OWNED = { table: conversations, tenantId: conversations.tenantId, id: conversations.id };
const ITEMS = {
  table: conversationItems,
  tenantId: conversationItems.tenantId,
  ownerId: conversationItems.conversationId,
};

/** A tenant's conversation by id; another tenant's is not found. */
export function findConversation(
  db: Database,
  tenantId: string,
  id: string,
): Promise<ConversationRow | undefined> {
  return findTenantOwned(db, OWNED, tenantId, id);
}

/** Replaces a conversation's sealed metadata; the row after, or undefined when there is none. */
export async function updateConversationMetadata(
  db: Database,
  tenantId: string,
  id: string,
  metadataEnc: Buffer,
): Promise<ConversationRow | undefined> {
  const [row] = await db
    .update(conversations)
    .set({ metadataEnc })
    .where(and(eq(conversations.tenantId, tenantId), eq(conversations.id, id)))
    .returning();
  return row;
}

/** Deletes a tenant's conversation and its items; false when there was none. */
export function deleteConversation(db: Database, tenantId: string, id: string): Promise<boolean> {
  return deleteTenantOwned(db, OWNED, ITEMS, tenantId, id);
}

/** Locks a tenant's conversation row until the transaction `tx` ends; false when there is none. */
async function lockConversation(tx: Database, tenantId: string, id: string): Promise<boolean> {
  const locked = await tx
    .select({ id: conversations.id })
    .from(conversations)
    .where(and(eq(conversations.tenantId, tenantId), eq(conversations.id, id)))
    .for('update');
  return locked.length > 0;
}

/** Inserts items after a locked conversation's last one. */
async function insertAtEnd(
  tx: Database,
  id: string,
  items: readonly Omit<NewConversationItem, 'position'>[],
): Promise<void> {
  if (items.length === 0) return;
  const [last] = await tx
    .select({ position: max(conversationItems.position) })
    .from(conversationItems)
    .where(eq(conversationItems.conversationId, id));
  const start = (last?.position ?? -1) + 1;
  await tx
    .insert(conversationItems)
    .values(items.map((item, i) => ({ ...item, conversationId: id, position: start + i })));
}

/**
 * Appends items at the end of a tenant's conversation inside the caller's transaction `tx`; null
 * when it does not exist. The conversation row is locked until the transaction ends, so two turns
 * appending at once take turns.
 */
export async function appendConversationItemsIn(
  tx: Database,
  tenantId: string,
  id: string,
  items: readonly Omit<NewConversationItem, 'position'>[],
): Promise<number | null> {
  if (!(await lockConversation(tx, tenantId, id))) return null;
  await insertAtEnd(tx, id, items);
  return items.length;
}

/** What appending items to a conversation came to. */
export type AppendOutcome =
  | { ok: true }
  | { ok: false; reason: 'conversation_not_found' }
  /** `itemId` is in the conversation already (an item id is unique in its conversation). */
  | { ok: false; reason: 'duplicate_item'; itemId: string };

/**
 * Appends items at the end of a tenant's conversation unless one of their ids is in it already:
 * checked with the conversation locked, so two requests adding the same item cannot both add it.
 */
export function appendConversationItems(
  db: Database,
  tenantId: string,
  id: string,
  items: readonly Omit<NewConversationItem, 'position'>[],
): Promise<AppendOutcome> {
  return db.transaction(async (tx): Promise<AppendOutcome> => {
    if (!(await lockConversation(tx, tenantId, id))) {
      return { ok: false, reason: 'conversation_not_found' };
    }
    const ids = items.map((item) => item.itemId);
    const present =
      ids.length === 0
        ? []
        : await tx
            .select({ itemId: conversationItems.itemId })
            .from(conversationItems)
            .where(
              and(
                eq(conversationItems.tenantId, tenantId),
                eq(conversationItems.conversationId, id),
                inArray(conversationItems.itemId, ids),
              ),
            );
    const taken = new Set(present.map((row) => row.itemId));
    const duplicate = ids.find((itemId) => taken.has(itemId));
    if (duplicate !== undefined) return { ok: false, reason: 'duplicate_item', itemId: duplicate };
    await insertAtEnd(tx, id, items);
    return { ok: true };
  });
}

/** Where a page of items starts and how long it is. */
export interface ItemPage {
  /** The position after (or before, descending) which the page starts; null from the end. */
  afterPosition: number | null;
  limit: number;
  order: 'asc' | 'desc';
}

/** One page of a tenant's conversation items in position order (up to `limit + 1`, to tell more). */
export function listConversationItems(
  db: Database,
  tenantId: string,
  id: string,
  page: ItemPage,
): Promise<ConversationItemRow[]> {
  const { afterPosition, order } = page;
  const scope = and(
    eq(conversationItems.tenantId, tenantId),
    eq(conversationItems.conversationId, id),
  );
  const after =
    afterPosition === null
      ? undefined
      : order === 'asc'
        ? gt(conversationItems.position, afterPosition)
        : lt(conversationItems.position, afterPosition);
  return db
    .select()
    .from(conversationItems)
    .where(and(scope, after))
    .orderBy(order === 'asc' ? asc(conversationItems.position) : desc(conversationItems.position))
    .limit(page.limit + 1);
}

/** One item of a tenant's conversation by item id. */
export async function findConversationItem(
  db: Database,
  tenantId: string,
  id: string,
  itemId: string,
): Promise<ConversationItemRow | undefined> {
  const rows = await db
    .select()
    .from(conversationItems)
    .where(
      and(
        eq(conversationItems.tenantId, tenantId),
        eq(conversationItems.conversationId, id),
        eq(conversationItems.itemId, itemId),
      ),
    )
    .limit(1);
  return rows[0];
}

/** Deletes one item of a tenant's conversation; false when there was none. */
export async function deleteConversationItem(
  db: Database,
  tenantId: string,
  id: string,
  itemId: string,
): Promise<boolean> {
  const gone = await db
    .delete(conversationItems)
    .where(
      and(
        eq(conversationItems.tenantId, tenantId),
        eq(conversationItems.conversationId, id),
        eq(conversationItems.itemId, itemId),
      ),
    )
    .returning({ id: conversationItems.itemId });
  return gone.length > 0;
}

/** A tenant's conversation items with the given item ids (for `item_reference`). */
export function findConversationItemsById(
  db: Database,
  tenantId: string,
  itemIds: readonly string[],
): Promise<ConversationItemRow[]> {
  if (itemIds.length === 0) return Promise.resolve([]);
  return db
    .select()
    .from(conversationItems)
    .where(
      and(
        eq(conversationItems.tenantId, tenantId),
        inArray(conversationItems.itemId, [...itemIds]),
      ),
    );
}
