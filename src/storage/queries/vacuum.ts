import { sql } from 'drizzle-orm';
import type { Database } from '../database.js';

/**
 * Tables whose rows are updated or deleted all the time (cache entries, rollups, their deltas),
 * one statement each: the embedded database runs one statement at a time, so the reads and
 * writes of requests queued meanwhile go between two tables rather than after all of them.
 */
const CHURNED_TABLES = [
  'cache_entries',
  'interaction_rollup_pending',
  'interaction_histogram_pending',
  'interaction_rollups_daily',
  'interaction_histograms_daily',
].map((table) => sql.raw(`VACUUM ${table}`));

/** Reclaims the space of dead rows in the churned tables (the embedded database has no autovacuum). */
export async function vacuumChurnedTables(db: Database): Promise<void> {
  for (const statement of CHURNED_TABLES) await db.execute(statement);
}
