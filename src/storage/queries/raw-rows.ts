import type { SQL } from 'drizzle-orm';
import type { Database } from '../database.js';
import { rowsOf } from '../rows-of.js';

/** Runs a hand-written statement and returns its rows, whichever driver answers (PGlite or node-postgres). */
export async function selectRows<T>(db: Database, query: SQL): Promise<T[]> {
  return rowsOf<T>(await db.execute(query));
}
