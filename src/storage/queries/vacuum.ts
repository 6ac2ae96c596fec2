import { sql } from 'drizzle-orm';
import type { Database } from '../database.js';

/** Tables whose rows are updated or deleted all the time (cache entries, rollups, their deltas). */
const CHURNED_TABLES = sql.raw(
  'VACUUM cache_entries, interaction_rollup_pending, interaction_rollups_daily, interaction_histograms_daily',
);

/** Reclaims the space of dead rows in the churned tables (the embedded database has no autovacuum). */
export async function vacuumChurnedTables(db: Database): Promise<void> {
  await db.execute(CHURNED_TABLES);
}
