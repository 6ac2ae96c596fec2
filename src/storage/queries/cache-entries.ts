import type { InferInsertModel, InferSelectModel } from 'drizzle-orm';
import { and, asc, desc, eq, gt, inArray, lte, or, sql } from 'drizzle-orm';
import type { CopySteps } from '../binary-copy.js';
import { copyTableOf, encodeCopy } from '../binary-copy.js';
import type { CopyFrom, Database } from '../database.js';
import { rowsOf } from '../rows-of.js';
import { cacheEntries, cacheFlushes } from '../schema.js';

/** A cache_entries row as the gateway reads it. */
export type CacheEntryRow = InferSelectModel<typeof cacheEntries>;
/** The fields needed to write an entry (`written_at` is the database's own clock). */
export type NewCacheEntry = Omit<InferInsertModel<typeof cacheEntries>, 'writtenAt'>;

/** What the per-tenant cap needs to know of a row: who owns it and when it was last used. */
export interface CacheEntryUsage {
  id: string;
  tenantId: string;
  exactHash: string;
  lastUsedAt: Date;
}

/** A row's identity and when the database wrote it. */
export interface CacheEntryStamp {
  id: string;
  tenantId: string;
  exactHash: string;
  writtenAt: Date;
}

/** Hits served from memory since the last write, for one entry. */
export interface CacheHitCount {
  tenantId: string;
  exactHash: string;
  count: number;
  lastHitAt: Date;
}

/** Where a page of rows ends, for the next page (newest first). */
export interface CacheEntryCursor {
  writtenAt: Date;
  id: string;
}

/** Where a binary COPY puts a batch before it is merged (the connection's own temporary table). */
const INCOMING = 'cache_entries_incoming';

const INCOMING_COPY = copyTableOf<NewCacheEntry>(cacheEntries, {
  keys: [
    'id',
    'tenantId',
    'scopeHash',
    'exactHash',
    'embedder',
    'provider',
    'responseEnc',
    'questionEnc',
    'embeddingF32',
    'embeddingSparse',
    'createdAt',
    'expiresAt',
    'size',
  ],
  target: INCOMING,
  rowName: 'cache entry',
  idOf: (e) => e.id,
});

/** The columns a write sets (the COPY's, by name); the others start over (no hits yet, written now). */
const WRITTEN_COLUMN_LIST = INCOMING_COPY.columns.map((c) => c.name).join(', ');

/** A written row replaces the row of the same exact key, whose hits start over. */
const REPLACE_SAME_KEY = `on conflict (tenant_id, exact_hash) do update set
  id = excluded.id,
  scope_hash = excluded.scope_hash,
  embedder = excluded.embedder,
  provider = excluded.provider,
  response_enc = excluded.response_enc,
  question_enc = excluded.question_enc,
  embedding_f32 = excluded.embedding_f32,
  embedding_sparse = excluded.embedding_sparse,
  created_at = excluded.created_at,
  expires_at = excluded.expires_at,
  hits = 0,
  last_hit_at = null,
  size = excluded.size,
  written_at = now()`;

/** The COPY's steps: the incoming table made where missing and emptied at commit, then the merge. */
const INCOMING_STEPS: CopySteps = {
  before: `create temporary table if not exists ${INCOMING} (like cache_entries including defaults) on commit delete rows`,
  after: `insert into cache_entries (${WRITTEN_COLUMN_LIST})
    select ${WRITTEN_COLUMN_LIST} from ${INCOMING}
    ${REPLACE_SAME_KEY}`,
};

/**
 * Writes entries, each replacing an older row with the same exact key (whose hits start over; the
 * caller passes at most one entry per (tenant, exact key)), by binary COPY in one transaction: the
 * batch is copied into a temporary table (made by the transaction if this connection has none,
 * emptied when it ends) and merged from there in one statement. The database parses no JSON and
 * no hex; the embedded one receives the batch on its thread as one transferred buffer. Nothing of a failed batch stays
 * behind, and a batch whose caller stopped waiting for it is stored whole before a later statement
 * on the embedded database runs (its statements run one at a time), so a tenant's flush that
 * follows it finds its rows.
 */
export async function copyCacheEntries(
  copyFrom: CopyFrom,
  entries: NewCacheEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await copyFrom(INCOMING_COPY, encodeCopy(INCOMING_COPY, entries), INCOMING_STEPS);
}

/** Deletes rows by id; returns how many there were. */
export async function deleteCacheEntriesById(db: Database, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const rows = await db
    .delete(cacheEntries)
    .where(inArray(cacheEntries.id, ids))
    .returning({ id: cacheEntries.id });
  return rows.length;
}

/** Adds hit counts to entries and notes when each was last used, in one statement. */
export async function recordCacheHits(db: Database, hits: CacheHitCount[]): Promise<void> {
  if (hits.length === 0) return;
  const values = sql.join(
    hits.map(
      (h) =>
        sql`(${h.tenantId}, ${h.exactHash}, ${h.count}::int, ${h.lastHitAt.toISOString()}::timestamptz)`,
    ),
    sql`, `,
  );
  await db.execute(sql`
    update cache_entries as c
    set hits = c.hits + v.n, last_hit_at = greatest(c.last_hit_at, v.at)
    from (values ${values}) as v(tenant_id, exact_hash, n, at)
    where c.tenant_id = v.tenant_id and c.exact_hash = v.exact_hash`);
}

/** Every live row's owner and last use, least recently used first (for the per-tenant cap). */
export async function listCacheEntryUsage(db: Database, now: Date): Promise<CacheEntryUsage[]> {
  const lastUsed = sql<Date>`coalesce(${cacheEntries.lastHitAt}, ${cacheEntries.createdAt})`;
  const rows = await db
    .select({
      id: cacheEntries.id,
      tenantId: cacheEntries.tenantId,
      exactHash: cacheEntries.exactHash,
      lastUsedAt: lastUsed,
    })
    .from(cacheEntries)
    .where(gt(cacheEntries.expiresAt, now))
    .orderBy(asc(lastUsed), asc(cacheEntries.id));
  return rows.map((r) => ({ ...r, lastUsedAt: new Date(r.lastUsedAt) }));
}

/** A page of live rows, most recently written first, after `cursor` when given. */
export async function listCacheEntriesNewestFirst(
  db: Database,
  q: { now: Date; after: CacheEntryCursor | null; limit: number },
): Promise<CacheEntryRow[]> {
  const before = q.after
    ? or(
        sql`${cacheEntries.writtenAt} < ${q.after.writtenAt.toISOString()}::timestamptz`,
        and(
          sql`${cacheEntries.writtenAt} = ${q.after.writtenAt.toISOString()}::timestamptz`,
          sql`${cacheEntries.id} < ${q.after.id}`,
        ),
      )
    : undefined;
  return db
    .select()
    .from(cacheEntries)
    .where(and(gt(cacheEntries.expiresAt, q.now), before))
    .orderBy(desc(cacheEntries.writtenAt), desc(cacheEntries.id))
    .limit(q.limit);
}

/** Ids and write times of the live rows written after `since` (database clock), oldest first. */
export async function listCacheEntriesWrittenSince(
  db: Database,
  q: { since: Date; now: Date },
): Promise<CacheEntryStamp[]> {
  return db
    .select({
      id: cacheEntries.id,
      tenantId: cacheEntries.tenantId,
      exactHash: cacheEntries.exactHash,
      writtenAt: cacheEntries.writtenAt,
    })
    .from(cacheEntries)
    .where(
      and(
        sql`${cacheEntries.writtenAt} > ${q.since.toISOString()}::timestamptz`,
        gt(cacheEntries.expiresAt, q.now),
      ),
    )
    .orderBy(asc(cacheEntries.writtenAt), asc(cacheEntries.id));
}

/**
 * Where rows not yet committed can lie, read before a sync's read: the start of the oldest
 * transaction another session has open in this database (a row's written_at is its transaction's
 * start), or the database's clock when none is open. Null when the database hides another session's
 * transaction from this role (pg_stat_activity shows it only to the same role or to members of
 * pg_read_all_stats): then it cannot be told.
 */
export async function readUncommittedHorizon(db: Database): Promise<Date | null> {
  const result = await db.execute(sql`
    select extract(epoch from now())::float8 * 1000 as now_ms,
      extract(epoch from min(xact_start) filter (where pid <> pg_backend_pid()))::float8 * 1000
        as oldest_ms,
      count(*) filter (
        where pid <> pg_backend_pid() and backend_type = 'client backend' and state is null
      )::int as hidden
    from pg_stat_activity
    where datname = current_database()`);
  const row = rowsOf<{ now_ms: number; oldest_ms: number | null; hidden: number }>(result)[0];
  if (!row || row.hidden > 0) return null;
  return new Date(Math.min(row.now_ms, row.oldest_ms ?? row.now_ms));
}

/** The rows with these ids. */
export async function findCacheEntriesByIds(db: Database, ids: string[]): Promise<CacheEntryRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(cacheEntries).where(inArray(cacheEntries.id, ids));
}

/** Deletes every entry of a tenant; returns how many there were. */
/**
 * Deletes a tenant's entries and, in the same transaction, records the flush (`flushId`), so
 * that instances sharing the database drop the tenant's entries from memory on their next sync.
 * Returns how many rows were deleted.
 */
export async function deleteTenantCacheEntries(
  db: Database,
  tenantId: string,
  flushId: string,
): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .delete(cacheEntries)
      .where(eq(cacheEntries.tenantId, tenantId))
      .returning({ id: cacheEntries.id });
    await tx.insert(cacheFlushes).values({ id: flushId, tenantId });
    return rows.length;
  });
}

/** A tenant's cache flush, as sync reads it. */
export interface CacheFlushRow {
  id: string;
  tenantId: string;
  flushedAt: Date;
}

/** The flushes recorded after `since` (the database's clock), oldest first. */
export async function listCacheFlushesSince(db: Database, since: Date): Promise<CacheFlushRow[]> {
  return db
    .select({
      id: cacheFlushes.id,
      tenantId: cacheFlushes.tenantId,
      flushedAt: cacheFlushes.flushedAt,
    })
    .from(cacheFlushes)
    .where(sql`${cacheFlushes.flushedAt} > ${since.toISOString()}::timestamptz`)
    .orderBy(asc(cacheFlushes.flushedAt), asc(cacheFlushes.id));
}

/** Deletes the flush records at or before `before` (no sync reads that far back). */
export async function deleteCacheFlushesBefore(db: Database, before: Date): Promise<number> {
  const rows = await db
    .delete(cacheFlushes)
    .where(lte(cacheFlushes.flushedAt, before))
    .returning({ id: cacheFlushes.id });
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

/**
 * Brings forward the expiry of entries stored under a longer lifetime than `ttlMs` (an earlier
 * `CACHE_TTL_S`, or before retention shortened it) to their creation plus `ttlMs`, so the expiry
 * job, which reads the expiry index only, deletes them in time; returns how many.
 */
export async function clampCacheEntryExpiries(db: Database, ttlMs: number): Promise<number> {
  const lifetime = sql`${cacheEntries.createdAt} + make_interval(secs => ${ttlMs / 1_000})`;
  const rows = await db
    .update(cacheEntries)
    .set({ expiresAt: lifetime })
    .where(gt(cacheEntries.expiresAt, lifetime))
    .returning({ id: cacheEntries.id });
  return rows.length;
}
