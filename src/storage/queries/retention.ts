import { and, inArray, isNotNull, lt, or } from 'drizzle-orm';
import type { Database } from '../database.js';
import { interactions } from '../schema.js';

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
