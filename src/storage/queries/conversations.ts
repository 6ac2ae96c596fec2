import type { InferInsertModel, InferSelectModel } from 'drizzle-orm';
import { and, asc, desc, eq, getTableColumns, gt, inArray, lt, max, sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import { conversationItems, conversations } from '../schema.js';
import { sqlStateOf } from '../sql-state.js';
import { deleteTenantOwned, findTenantOwned } from './tenant-owned.js';

/** PostgreSQL's unique_violation. */
const UNIQUE_VIOLATION = '23505';

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

/** The first of these item ids that a tenant's conversation holds, if any. */
async function heldItemId(
  db: Database,
  tenantId: string,
  id: string,
  itemIds: readonly string[],
): Promise<string | undefined> {
  if (itemIds.length === 0) return undefined;
  const present = await db
    .select({ itemId: conversationItems.itemId })
    .from(conversationItems)
    .where(
      and(
        eq(conversationItems.tenantId, tenantId),
        eq(conversationItems.conversationId, id),
        inArray(conversationItems.itemId, [...itemIds]),
      ),
    );
  const held = new Set(present.map((row) => row.itemId));
  return itemIds.find((itemId) => held.has(itemId));
}

/** What appending items to a conversation came to. */
export type AppendOutcome =
  | { ok: true }
  | { ok: false; reason: 'conversation_not_found' }
  /** `itemId` is in the conversation already (an item id is unique in its conversation). */
  | { ok: false; reason: 'duplicate_item'; itemId: string };

/** Thrown inside a transaction to roll it back with an outcome other than success. */
class AppendRefused extends Error {
  constructor(readonly outcome: Exclude<AppendOutcome, { ok: true }>) {
    super(outcome.reason);
  }
}

/**
 * Appends items at the end of a tenant's conversation inside the caller's transaction `tx`,
 * unless it does not exist or holds one of their ids already: checked with the conversation row
 * locked until the transaction ends, so two turns appending at once take turns and the second
 * sees the first's items. (The unique index on the item id refuses what this check could miss.)
 */
async function appendIn(
  tx: Database,
  tenantId: string,
  id: string,
  items: readonly Omit<NewConversationItem, 'position'>[],
): Promise<void> {
  if (!(await lockConversation(tx, tenantId, id))) {
    throw new AppendRefused({ ok: false, reason: 'conversation_not_found' });
  }
  const itemIds = items.map((item) => item.itemId);
  const held = await heldItemId(tx, tenantId, id, itemIds);
  if (held !== undefined)
    throw new AppendRefused({ ok: false, reason: 'duplicate_item', itemId: held });
  if (items.length === 0) return;
  const [last] = await tx
    .select({ position: max(conversationItems.position) })
    .from(conversationItems)
    .where(eq(conversationItems.conversationId, id));
  const start = (last?.position ?? -1) + 1;
  await tx
    .insert(conversationItems)
    .values(
      items.map((item, i) => ({ ...item, conversationId: id, position: start + i, itemCopy: 0 })),
    );
}

/** The unique index that holds an item id once per conversation. */
const ITEM_ID_INDEX = 'conversation_items_item_key';

/** The constraint a failed statement broke, from either driver's error or Drizzle's wrapper. */
function brokenConstraint(err: unknown): string | null {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const fields = e as { constraint?: unknown; constraint_name?: unknown };
    const name = fields.constraint_name ?? fields.constraint;
    if (typeof name === 'string') return name;
  }
  return null;
}

/**
 * Runs `work` in a transaction that appends to a tenant's conversation (see appendIn): its
 * outcome, with the transaction rolled back when the append is refused. A second copy of an item
 * id that reached the unique index is refused as a duplicate too, never an error.
 */
export async function withAppend(
  db: Database,
  tenantId: string,
  id: string,
  items: readonly Omit<NewConversationItem, 'position'>[],
  work: (tx: Database) => Promise<void> = async () => {},
): Promise<AppendOutcome> {
  try {
    await db.transaction(async (tx) => {
      await appendIn(tx, tenantId, id, items);
      await work(tx);
    });
    return { ok: true };
  } catch (err) {
    if (err instanceof AppendRefused) return err.outcome;
    if (sqlStateOf(err) === UNIQUE_VIOLATION && brokenConstraint(err) === ITEM_ID_INDEX) {
      const itemIds = items.map((item) => item.itemId);
      const held = (await heldItemId(db, tenantId, id, itemIds)) ?? itemIds[0] ?? '';
      return { ok: false, reason: 'duplicate_item', itemId: held };
    }
    throw err;
  }
}

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
  return withAppend(db, tenantId, id, items);
}

/** Where a page of items starts and how long it is. */
export interface ItemPage {
  /** The position after (or before, descending) which the page starts; null from the end. */
  afterPosition: number | null;
  limit: number;
  order: 'asc' | 'desc';
}

/** A listed conversation item, and whether its id came up already earlier in the listing. */
export type ListedItemRow = ConversationItemRow & { repeated: boolean };

/**
 * One page of a tenant's conversation items in position order (up to `limit + 1`, to tell more),
 * each marked `repeated` when an earlier version stored its id before it in the order asked for.
 */
export function listConversationItems(
  db: Database,
  tenantId: string,
  id: string,
  page: ItemPage,
): Promise<ListedItemRow[]> {
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
  const before = order === 'asc' ? sql.raw('<') : sql.raw('>');
  return db
    .select({
      ...getTableColumns(conversationItems),
      // Spelled out: drizzle names the outer columns unqualified, which the subquery would take
      // for its own.
      repeated: sql<boolean>`exists (select 1 from conversation_items earlier
        where earlier.conversation_id = conversation_items.conversation_id
          and earlier.item_id = conversation_items.item_id
          and earlier.position ${before} conversation_items.position)`,
    })
    .from(conversationItems)
    .where(and(scope, after))
    .orderBy(order === 'asc' ? asc(conversationItems.position) : desc(conversationItems.position))
    .limit(page.limit + 1);
}

/**
 * One item of a tenant's conversation by item id; of an id an earlier version stored more than
 * once, the first in `order` (`asc`: the oldest), which is where paging `after` it goes on from.
 */
export async function findConversationItem(
  db: Database,
  tenantId: string,
  id: string,
  itemId: string,
  order: 'asc' | 'desc' = 'asc',
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
    .orderBy(order === 'asc' ? asc(conversationItems.position) : desc(conversationItems.position))
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
