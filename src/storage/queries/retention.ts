import { and, eq, inArray, isNotNull, lt, notExists, or, sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import {
  conversationItems,
  conversations,
  interactions,
  storedResponseItems,
  storedResponses,
} from '../schema.js';

/** Erases the stored text of up to `limit` rows created before `cutoff`; returns how many. */
export async function eraseContentBatch(
  db: Database,
  cutoff: Date,
  limit: number,
): Promise<number> {
  const batch = db
    .select({ id: interactions.id })
    .from(interactions)
    .where(
      and(
        lt(interactions.createdAt, cutoff),
        or(isNotNull(interactions.requestEnc), isNotNull(interactions.responseEnc)),
      ),
    )
    .limit(limit);
  const rows = await db
    .update(interactions)
    .set({ requestEnc: null, responseEnc: null })
    .where(inArray(interactions.id, batch))
    .returning({ id: interactions.id });
  return rows.length;
}

/** Deletes up to `limit` rows created before `cutoff`; returns how many. */
export async function deleteRowsBatch(db: Database, cutoff: Date, limit: number): Promise<number> {
  const batch = db
    .select({ id: interactions.id })
    .from(interactions)
    .where(lt(interactions.createdAt, cutoff))
    .limit(limit);
  const rows = await db
    .delete(interactions)
    .where(inArray(interactions.id, batch))
    .returning({ id: interactions.id });
  return rows.length;
}

/** Deletes up to `limit` stored responses created before `cutoff`, with their items; how many. */
export async function deleteStoredResponsesBatch(
  db: Database,
  cutoff: Date,
  limit: number,
): Promise<number> {
  const batch = db
    .select({ id: storedResponses.id })
    .from(storedResponses)
    .where(lt(storedResponses.createdAt, cutoff))
    .limit(limit);
  const rows = await db
    .delete(storedResponses)
    .where(inArray(storedResponses.id, batch))
    .returning({ id: storedResponses.id });
  if (rows.length > 0) {
    await db.delete(storedResponseItems).where(
      inArray(
        storedResponseItems.responseId,
        rows.map((row) => row.id),
      ),
    );
  }
  return rows.length;
}

/** Deletes up to `limit` conversation items created before `cutoff`; returns how many. */
export async function deleteConversationItemsBatch(
  db: Database,
  cutoff: Date,
  limit: number,
): Promise<number> {
  const batch = db
    .select({ id: conversationItems.conversationId, position: conversationItems.position })
    .from(conversationItems)
    .where(lt(conversationItems.createdAt, cutoff))
    .limit(limit);
  const rows = await db
    .delete(conversationItems)
    .where(sql`(${conversationItems.conversationId}, ${conversationItems.position}) in (${batch})`)
    .returning({ id: conversationItems.itemId });
  return rows.length;
}

/**
 * Deletes up to `limit` conversations created before `cutoff` that no longer hold any item (their
 * items went by age first); returns how many.
 */
export async function deleteEmptyConversationsBatch(
  db: Database,
  cutoff: Date,
  limit: number,
): Promise<number> {
  const batch = db
    .select({ id: conversations.id })
    .from(conversations)
    .where(
      and(
        lt(conversations.createdAt, cutoff),
        notExists(
          db
            .select({ one: sql`1` })
            .from(conversationItems)
            .where(eq(conversationItems.conversationId, conversations.id)),
        ),
      ),
    )
    .limit(limit);
  const rows = await db
    .delete(conversations)
    .where(inArray(conversations.id, batch))
    .returning({ id: conversations.id });
  return rows.length;
}
