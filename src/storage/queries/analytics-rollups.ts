import { sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import { selectRows } from './raw-rows.js';

/**
 * Folds pending interaction deltas into the daily rollups (migrations 0008 and 0017), at most
 * `batchRows` rows of each pending table per statement, until none are left; returns how many
 * interactions the folded deltas stood for. Safe to run from several gateways at once: each
 * statement takes disjoint rows. Readers never wait for this: they add whatever is still pending,
 * so it only keeps the pending tables short.
 */
export async function rollUpPending(db: Database, batchRows = 50_000): Promise<number> {
  let total = 0;
  for (;;) {
    const [row] = await selectRows<{ moved: number; folded: string | number }>(
      db,
      sql`select moved, folded from tollgate_fold_rollup_deltas(${batchRows}::int)`,
    );
    total += Number(row?.folded ?? 0);
    if (Number(row?.moved ?? 0) < batchRows) return total;
  }
}
