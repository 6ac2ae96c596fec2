import type { SQL } from 'drizzle-orm';
import type { Database } from '../database.js';

/** Runs a hand-written statement and returns its rows, whichever driver answers (PGlite or postgres.js). */
export async function selectRows<T>(db: Database, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query);
  if (Array.isArray(result)) return result as T[];
  return (result as { rows?: T[] }).rows ?? [];
}
