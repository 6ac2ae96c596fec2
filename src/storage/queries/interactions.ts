import type { InferInsertModel, InferSelectModel } from 'drizzle-orm';
import { eq } from 'drizzle-orm';
import type { Database } from '../db.js';
import { interactions } from '../schema.js';

/** An interactions row as stored. */
export type InteractionRow = InferSelectModel<typeof interactions>;
/** An interactions row ready to insert (text fields already encrypted). */
export type NewInteraction = InferInsertModel<typeof interactions>;

/**
 * Inserts rows in one multi-row statement. Rows whose id already exists are skipped, which is what
 * makes replaying the outbox exactly-once. Returns how many rows were new.
 */
export async function insertInteractions(
  db: Database,
  rows: readonly NewInteraction[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const inserted = await db
    .insert(interactions)
    .values([...rows])
    .onConflictDoNothing({ target: interactions.id })
    .returning({ id: interactions.id });
  return inserted.length;
}

/** One interaction by id. */
export async function findInteraction(
  db: Database,
  id: string,
): Promise<InteractionRow | undefined> {
  const rows = await db.select().from(interactions).where(eq(interactions.id, id)).limit(1);
  return rows[0];
}
