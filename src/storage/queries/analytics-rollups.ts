import { sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import { selectRows } from './raw-rows.js';

/**
 * Folds pending interaction deltas into the daily rollups (migration 0008), `batchRows` per
 * statement, until none are left; returns how many it folded. Safe to run from several gateways
 * at once: each statement takes disjoint rows. Readers never wait for this: they add whatever is
 * still pending, so it only keeps the pending log short.
 */
export async function rollUpPending(db: Database, batchRows = 50_000): Promise<number> {
  let total = 0;
  for (;;) {
    const [row] = await selectRows<{ n: number }>(
      db,
      sql`select tollgate_roll_up_pending(${batchRows}::int) as n`,
    );
    const n = Number(row?.n ?? 0);
    total += n;
    if (n < batchRows) return total;
  }
}
