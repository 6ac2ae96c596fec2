import type { InferInsertModel, InferSelectModel } from 'drizzle-orm';
import { and, eq, gt, inArray, lte, sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import { rowsOf } from '../rows-of.js';
import { cacheEntries } from '../schema.js';

/** A cache_entries row (without the optional vector column). */
export type CacheEntryRow = InferSelectModel<typeof cacheEntries>;
/** The fields needed to write an entry. */
export type NewCacheEntry = InferInsertModel<typeof cacheEntries>;

/** The nearest entry of a scope by cosine similarity, with its ciphertexts. */
export interface NearestCacheEntry {
  id: string;
  exactHash: string;
  questionEnc: Buffer | null;
  responseEnc: Buffer;
  createdAt: Date;
  similarity: number;
}

function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.length);
  throw new TypeError('expected a bytea value');
}

/** A pgvector literal for a vector. */
function vectorLiteral(vector: Float32Array): string {
  return `[${Array.from(vector).join(',')}]`;
}

/** True when cache_entries has its pgvector column (pgvector was present at migration). */
export async function hasEmbeddingColumn(db: Database): Promise<boolean> {
  const result = await db.execute(
    sql`select 1 from information_schema.columns where table_name = 'cache_entries' and column_name = 'embedding' and table_schema = current_schema()`,
  );
  return rowsOf(result).length > 0;
}

/** The live entry with this exact key, if any; one lookup on the unique index. */
export async function findCacheEntryByExact(
  db: Database,
  tenantId: string,
  exactHash: string,
  now: Date,
): Promise<CacheEntryRow | undefined> {
  const rows = await db
    .select()
    .from(cacheEntries)
    .where(
      and(
        eq(cacheEntries.tenantId, tenantId),
        eq(cacheEntries.exactHash, exactHash),
        gt(cacheEntries.expiresAt, now),
      ),
    )
    .limit(1);
  return rows[0];
}

/**
 * The live entry of one scope whose vector is nearest to `vector` (pgvector cosine distance).
 * The scope's rows are selected first (materialised, through the tenant/scope index) and ranked
 * exactly, so no in-scope neighbour can be lost to an approximate search. Needs pgvector.
 */
export async function findNearestCacheEntry(
  db: Database,
  q: {
    tenantId: string;
    scopeHash: string;
    embedder: string;
    vector: Float32Array;
    now: Date;
    notBefore: Date | null;
  },
): Promise<NearestCacheEntry | undefined> {
  const v = vectorLiteral(q.vector);
  const notBefore = q.notBefore ?? new Date(0);
  const result = await db.execute(sql`
    with scoped as materialized (
      select id, exact_hash, question_enc, response_enc, created_at, embedding
      from cache_entries
      where tenant_id = ${q.tenantId} and scope_hash = ${q.scopeHash}
        and embedder = ${q.embedder} and embedding is not null
        and expires_at > ${q.now.toISOString()}::timestamptz
        and created_at >= ${notBefore.toISOString()}::timestamptz
    )
    select id, exact_hash, question_enc, response_enc, created_at,
      1 - (embedding <=> ${v}::vector) as similarity
    from scoped
    order by embedding <=> ${v}::vector
    limit 1`);
  const row = rowsOf(result)[0];
  if (!row) return undefined;
  return {
    id: String(row.id),
    exactHash: String(row.exact_hash),
    questionEnc: row.question_enc === null ? null : toBuffer(row.question_enc),
    responseEnc: toBuffer(row.response_enc),
    createdAt: new Date(row.created_at as string | Date),
    similarity: Number(row.similarity),
  };
}

/** Writes an entry, replacing an older one with the same exact key (its hits start over). */
export async function upsertCacheEntry(db: Database, entry: NewCacheEntry): Promise<boolean> {
  const rows = await db
    .insert(cacheEntries)
    .values(entry)
    .onConflictDoUpdate({
      target: [cacheEntries.tenantId, cacheEntries.exactHash],
      set: {
        id: entry.id,
        scopeHash: entry.scopeHash,
        embedder: entry.embedder ?? null,
        responseEnc: entry.responseEnc,
        questionEnc: entry.questionEnc ?? null,
        createdAt: entry.createdAt,
        expiresAt: entry.expiresAt,
        hits: 0,
        lastHitAt: null,
        size: entry.size,
      },
    })
    // xmax is 0 only on a row this statement inserted (not on one it updated).
    .returning({ inserted: sql<boolean>`(xmax = 0)` });
  return rows[0]?.inserted === true;
}

/** Sets an entry's vector (or clears it). Needs pgvector. */
export async function setCacheEntryEmbedding(
  db: Database,
  id: string,
  vector: Float32Array | null,
): Promise<void> {
  const value = vector === null ? sql`null` : sql`${vectorLiteral(vector)}::vector`;
  await db.execute(sql`update cache_entries set embedding = ${value} where id = ${id}`);
}

/** Adds hits to an entry and notes when it was last used. */
export async function recordCacheHits(
  db: Database,
  tenantId: string,
  exactHash: string,
  count: number,
  at: Date,
): Promise<void> {
  await db
    .update(cacheEntries)
    .set({ hits: sql`${cacheEntries.hits} + ${count}`, lastHitAt: at })
    .where(and(eq(cacheEntries.tenantId, tenantId), eq(cacheEntries.exactHash, exactHash)));
}

/**
 * Deletes a tenant's entries beyond the `keep` most recently used (last hit, or creation when
 * never hit). Returns the exact keys deleted.
 */
export async function evictCacheEntriesOverCap(
  db: Database,
  tenantId: string,
  keep: number,
): Promise<string[]> {
  const victims = db
    .select({ id: cacheEntries.id })
    .from(cacheEntries)
    .where(eq(cacheEntries.tenantId, tenantId))
    .orderBy(
      sql`coalesce(${cacheEntries.lastHitAt}, ${cacheEntries.createdAt}) desc`,
      sql`${cacheEntries.hits} desc`,
      sql`${cacheEntries.id} desc`,
    )
    .offset(keep);
  const rows = await db
    .delete(cacheEntries)
    .where(and(eq(cacheEntries.tenantId, tenantId), inArray(cacheEntries.id, victims)))
    .returning({ exactHash: cacheEntries.exactHash });
  return rows.map((r) => r.exactHash);
}

/** Deletes every entry of a tenant; returns how many there were. */
export async function deleteTenantCacheEntries(db: Database, tenantId: string): Promise<number> {
  const rows = await db
    .delete(cacheEntries)
    .where(eq(cacheEntries.tenantId, tenantId))
    .returning({ id: cacheEntries.id });
  return rows.length;
}

/** Deletes entries past their expiry; returns how many. */
export async function deleteExpiredCacheEntries(db: Database, now: Date): Promise<number> {
  const rows = await db
    .delete(cacheEntries)
    .where(lte(cacheEntries.expiresAt, now))
    .returning({ id: cacheEntries.id });
  return rows.length;
}

/** How many entries a tenant has. */
export async function countTenantCacheEntries(db: Database, tenantId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(cacheEntries)
    .where(eq(cacheEntries.tenantId, tenantId));
  return Number(row?.n ?? 0);
}
