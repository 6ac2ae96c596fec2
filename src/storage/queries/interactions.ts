import { eq, getTableColumns, sql } from 'drizzle-orm';
import { byteaText } from '../bytea-text.js';
import type { Database, DatabaseHandle } from '../database.js';
import { rowsOf } from '../rows-of.js';
import type { InteractionRow, NewInteraction } from '../schema.js';
import { interactions } from '../schema.js';
import { sqlStateOf } from '../sql-state.js';
import { COPY_INTERACTIONS, encodeInteractionsCopy } from './interactions-copy.js';

/** PostgreSQL's unique_violation: here, an id already stored. */
const UNIQUE_VIOLATION = '23505';

const COLUMNS = Object.entries(getTableColumns(interactions)).map(([key, column]) => ({
  key: key as keyof NewInteraction,
  name: column.name,
  // json_populate_recordset fills a missing field with NULL, not with the column default.
  fallback: column.default ?? null,
}));

function jsonValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return byteaText(value);
  return value ?? null;
}

/**
 * Inserts rows in one statement with a single JSON parameter expanded by the database
 * (json_populate_recordset), instead of one bound parameter per field, which costs the database a
 * fraction of the CPU. Rows whose id already exists are skipped, which is what makes replaying the
 * outbox exactly-once. Returns how many were new.
 */
export async function insertInteractions(
  db: Database,
  rows: readonly NewInteraction[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const records = rows.map((row) => {
    const record: Record<string, unknown> = {};
    for (const c of COLUMNS) record[c.name] = jsonValue(row[c.key] ?? c.fallback);
    return record;
  });
  const result = await db.execute(sql`
    with inserted as (
      insert into ${interactions}
      select * from json_populate_recordset(null::interactions, ${JSON.stringify(records)}::json)
      on conflict (id) do nothing
      returning 1
    )
    select count(*)::int as n from inserted`);
  return Number(rowsOf<{ n: number }>(result)[0]?.n ?? 0);
}

/** One interaction by id. */
export async function findInteraction(
  db: Database,
  id: string,
): Promise<InteractionRow | undefined> {
  const rows = await db.select().from(interactions).where(eq(interactions.id, id)).limit(1);
  return rows[0];
}

/**
 * Stores rows with binary COPY (`copy` loads an encoded batch; see interactions-copy.ts), the
 * cheapest way into the database. COPY cannot skip rows that exist, so a batch that meets an id
 * already stored (a replay after a write whose outcome was unknown) fails whole, changing
 * nothing, and is inserted again with insertInteractions, which skips them. Returns how many
 * rows were new.
 */
export async function copyInteractions(
  db: Database,
  copy: (data: Uint8Array<ArrayBuffer>) => Promise<void>,
  rows: readonly NewInteraction[],
): Promise<number> {
  if (rows.length === 0) return 0;
  try {
    await copy(encodeInteractionsCopy(rows));
    return rows.length;
  } catch (err) {
    if (sqlStateOf(err) !== UNIQUE_VIOLATION) throw err;
    return insertInteractions(db, rows);
  }
}

/**
 * The writer's insert: binary COPY (the embedded database's thread receives the batch as one
 * transferred buffer; PostgreSQL reads it off a pooled connection), falling back to the skipping
 * JSON insert for a replayed batch. Returns how many rows were new.
 */
export function storeInteractions(
  handle: Pick<DatabaseHandle, 'db' | 'copyFrom'>,
  rows: readonly NewInteraction[],
): Promise<number> {
  return copyInteractions(handle.db, (data) => handle.copyFrom(COPY_INTERACTIONS, data), rows);
}
