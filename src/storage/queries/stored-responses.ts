import type { InferInsertModel, InferSelectModel } from 'drizzle-orm';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import { rowsOf } from '../rows-of.js';
import { storedResponseItems, storedResponses } from '../schema.js';
import type { AppendOutcome, NewConversationItem } from './conversations.js';
import { withAppend } from './conversations.js';
import { deleteTenantOwned, findTenantOwned } from './tenant-owned.js';

/** A stored response row (its text still sealed). */
export type StoredResponseRow = InferSelectModel<typeof storedResponses>;
/** A stored response row ready to insert. */
export type NewStoredResponse = InferInsertModel<typeof storedResponses>;
/** One sealed item of a stored response, in its place. */
export type NewStoredResponseItem = InferInsertModel<typeof storedResponseItems>;

/**
 * Inserts a stored response with its items in one transaction and, when it answers in a
 * conversation, appends the turn's items to it there too: not at all when that conversation is
 * gone or holds one of the turn's item ids already (another turn stored it meanwhile).
 */
export async function insertStoredResponse(
  db: Database,
  row: NewStoredResponse,
  items: readonly NewStoredResponseItem[],
  conversationItems: readonly Omit<NewConversationItem, 'position'>[] = [],
): Promise<AppendOutcome> {
  const insert = async (tx: Database) => {
    await tx.insert(storedResponses).values(row);
    if (items.length > 0) await tx.insert(storedResponseItems).values([...items]);
  };
  if (!row.conversationId) {
    await db.transaction(insert);
    return { ok: true };
  }
  return withAppend(db, row.tenantId, row.conversationId, conversationItems, insert);
}

const OWNED = {
  table: storedResponses,
  tenantId: storedResponses.tenantId,
  id: storedResponses.id,
};
const ITEMS = {
  table: storedResponseItems,
  tenantId: storedResponseItems.tenantId,
  ownerId: storedResponseItems.responseId,
};

/** A tenant's stored response by id; another tenant's is not found. */
export function findStoredResponse(
  db: Database,
  tenantId: string,
  id: string,
): Promise<StoredResponseRow | undefined> {
  return findTenantOwned(db, OWNED, tenantId, id);
}

/** Deletes a tenant's stored response and its items; false when there was none. */
export function deleteStoredResponse(db: Database, tenantId: string, id: string): Promise<boolean> {
  return deleteTenantOwned(db, OWNED, ITEMS, tenantId, id);
}

/** A tenant's stored response items with the given item ids (for `item_reference`). */
export function findStoredResponseItems(
  db: Database,
  tenantId: string,
  itemIds: readonly string[],
): Promise<InferSelectModel<typeof storedResponseItems>[]> {
  if (itemIds.length === 0) return Promise.resolve([]);
  return db
    .select()
    .from(storedResponseItems)
    .where(
      and(
        eq(storedResponseItems.tenantId, tenantId),
        inArray(storedResponseItems.itemId, [...itemIds]),
      ),
    );
}

/** Deepest `previous_response_id` chain followed; a longer one is cut at its oldest turns. */
const MAX_CHAIN_DEPTH = 1_000;

/** A response's chain: the ids oldest first, and the missing link if the chain is broken. */
async function chainIds(
  db: Database,
  tenantId: string,
  id: string,
): Promise<{ ids: string[]; missing: string | null }> {
  const result = await db.execute(sql`
    with recursive chain(id, previous_id, depth) as (
      select id, previous_response_id, 0 from stored_responses
        where tenant_id = ${tenantId} and id = ${id}
      union all
      select r.id, r.previous_response_id, c.depth + 1
        from stored_responses r join chain c on r.id = c.previous_id
        where r.tenant_id = ${tenantId} and c.depth < ${MAX_CHAIN_DEPTH}
    )
    select id, previous_id, depth from chain order by depth desc`);
  const rows = rowsOf<{ id: string; previous_id: string | null; depth: number }>(result);
  const oldest = rows[0];
  // A chain cut at the depth limit is whole enough; one whose oldest link was deleted is not.
  const missing =
    oldest && oldest.previous_id !== null && Number(oldest.depth) < MAX_CHAIN_DEPTH
      ? oldest.previous_id
      : null;
  return { ids: rows.map((row) => row.id), missing };
}

/**
 * The items of a response's `previous_response_id` chain, oldest response first and each in its
 * order (input, then output), the response's own items last; and the id of an earlier response
 * the chain needs that is gone (deleted, or pruned by retention), if any.
 */
export async function findChainItems(
  db: Database,
  tenantId: string,
  id: string,
): Promise<{ rows: InferSelectModel<typeof storedResponseItems>[]; missing: string | null }> {
  const { ids, missing } = await chainIds(db, tenantId, id);
  if (ids.length === 0) return { rows: [], missing };
  const order = new Map(ids.map((responseId, i) => [responseId, i]));
  const rows = await db
    .select()
    .from(storedResponseItems)
    .where(
      and(eq(storedResponseItems.tenantId, tenantId), inArray(storedResponseItems.responseId, ids)),
    );
  rows.sort(
    (a, b) =>
      (order.get(a.responseId) ?? 0) - (order.get(b.responseId) ?? 0) || a.position - b.position,
  );
  return { rows, missing };
}
