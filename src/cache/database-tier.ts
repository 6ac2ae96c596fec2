import type { Clock } from '../runtime/clock.js';
import { errorReason } from '../runtime/error-reason.js';
import type { Logger } from '../runtime/logger.js';
import { withTimeout } from '../runtime/with-timeout.js';
import type { Database, DatabaseHandle } from '../storage/database.js';
import type {
  CacheEntryCursor,
  CacheEntryRow,
  CacheEntryUsage,
  NewCacheEntry,
} from '../storage/queries/cache-entries.js';
import {
  copyCacheEntries,
  deleteCacheEntriesById,
  deleteExpiredCacheEntries,
  deleteTenantCacheEntries,
  findCacheEntriesByIds,
  listCacheEntriesNewestFirst,
  listCacheEntriesWrittenSince,
  listCacheEntryUsage,
  readUncommittedHorizon,
  recordCacheHits,
} from '../storage/queries/cache-entries.js';
import type { Breaker } from './breaker.js';
import type { EntryCodec } from './entry-codec.js';
import type { HitCounter } from './hit-counter.js';
import { storedVector } from './vector-bytes.js';

/** An entry waiting for its durable write, in the clear (it is sealed when written). */
export interface PendingEntry {
  id: string;
  tenantId: string;
  scopeHash: string;
  exactHash: string;
  embedder: string | null;
  vector: Float32Array | null;
  /** The answer as JSON, as it is sealed. */
  completionJson: string;
  question: string | null;
  createdAt: number;
  expiresAt: number;
}

/** A row written by another instance, as sync reports it. */
export interface WrittenRow {
  id: string;
  tenantId: string;
  exactHash: string;
}

/** A batch of writes gives up after this long (the breaker then opens). */
const WRITE_TIMEOUT_MS = 10_000;
/** Rows per multi-row statement. */
const WRITE_CHUNK_ROWS = 500;
/** Rows per page read at start-up. */
const LOAD_PAGE_ROWS = 500;
/**
 * Sync reads back at most this far before its last mark: a row is stamped when its transaction
 * starts and may commit after a later one was already read. It reads back less when the database
 * said, before the last read, that no transaction open then had started that early (see
 * readUncommittedHorizon): then each row is read about once instead of once a second for 6 s.
 */
const SYNC_OVERLAP_MS = 5_000;
/**
 * Sync reads back this much before that horizon: a transaction takes its start time a moment before
 * it shows in pg_stat_activity.
 */
const HORIZON_MARGIN_MS = 1_000;
/** While the database is down at most this many entries wait; beyond it the oldest are dropped. */
const MAX_PENDING_ENTRIES = 10_000;

const SEPARATOR = '\n';

/**
 * The cache's durable copy in the database, off the request path: writes are queued and written
 * in batches by `flush`, rows are read at start-up (`loadUsage`, `loadNewest`) and rows written by
 * other instances are found by `sync`. Every step runs one at a time, behind the breaker.
 */
export class DatabaseTier {
  private readonly writes = new Map<string, PendingEntry>();
  private readonly deletes = new Set<string>();
  /** Ids this process deleted lately, which sync must not bring back before the delete lands. */
  private readonly forgotten = new Map<string, number>();
  private chain: Promise<unknown> = Promise.resolve();
  private syncMark: Date | null = null;
  /** Before the last sync's read: where rows it could not see yet may lie (null: unknown). */
  private syncHorizon: Date | null = null;
  private droppedWarned = false;

  constructor(
    private readonly deps: {
      db: Database;
      codec: EntryCodec;
      breaker: Breaker;
      hits: HitCounter;
      clock: Clock;
      logger: Logger;
      /**
       * Whether other processes write the same database (instances sharing PostgreSQL). The
       * embedded database has one writer, this process: there `sync` has nothing to find and
       * reads nothing, and deleted ids need not be remembered for it.
       */
      othersWrite: boolean;
      /** Loads a binary COPY buffer (the database handle's): the entries are written that way. */
      copyFrom: DatabaseHandle['copyFrom'];
      /** How far before the horizon a sync reads (HORIZON_MARGIN_MS unless set). */
      horizonMarginMs?: number;
    },
  ) {}

  /**
   * Queues an entry's write; a newer entry of the same key takes a queued one's place (in it: a
   * key deleted and added back again and again would leave V8 a chain of its deleted copies to
   * walk on every lookup, see KeyCounts).
   */
  enqueueWrite(entry: PendingEntry): void {
    const key = entry.tenantId + SEPARATOR + entry.exactHash;
    this.writes.set(key, entry);
    if (this.writes.size > MAX_PENDING_ENTRIES) {
      const oldest = this.writes.keys().next();
      if (!oldest.done) this.writes.delete(oldest.value);
      if (!this.droppedWarned) {
        this.droppedWarned = true;
        this.deps.logger.warn(
          'cache write queue full; the oldest unwritten entries stay in memory only',
        );
      }
    }
  }

  /** Queues the delete of one row version (evicted by the cap). */
  enqueueDelete(entry: WrittenRow): void {
    const key = entry.tenantId + SEPARATOR + entry.exactHash;
    if (this.writes.get(key)?.id === entry.id) this.writes.delete(key);
    this.deletes.add(entry.id);
    if (this.deps.othersWrite) this.forgotten.set(entry.id, this.deps.clock.monotonic());
  }

  /** Drops everything queued for a tenant whose cache is being flushed. */
  dropTenant(tenantId: string): void {
    for (const [key, w] of this.writes) if (w.tenantId === tenantId) this.writes.delete(key);
  }

  /** Entries waiting to be written. */
  get pendingWrites(): number {
    return this.writes.size;
  }

  /** Runs database steps one at a time, in call order. */
  exclusive<T>(step: () => Promise<T>): Promise<T> {
    const run = this.chain.then(step, step);
    this.chain = run.catch(() => {});
    return run;
  }

  /** Writes the queued entries, deletes and hit counts, each kind in one statement per chunk. */
  flush(): Promise<void> {
    return this.exclusive(() => this.flushNow());
  }

  /** Every live row's owner and last use, least recently used first. */
  loadUsage(now: number): Promise<CacheEntryUsage[] | null> {
    return this.exclusive(() =>
      this.guarded(() => listCacheEntryUsage(this.deps.db, new Date(now))),
    );
  }

  /**
   * Live rows, most recently written first, page by page until `accept` returns false. Marks
   * where the next `sync` starts. Returns false when the database could not be read.
   */
  loadNewest(now: number, accept: (row: CacheEntryRow) => boolean): Promise<boolean> {
    return this.exclusive(async () => {
      const done = await this.guarded(async () => {
        let after: CacheEntryCursor | null = null;
        this.syncMark = null;
        this.syncHorizon = null;
        for (;;) {
          const page = await listCacheEntriesNewestFirst(this.deps.db, {
            now: new Date(now),
            after,
            limit: LOAD_PAGE_ROWS,
          });
          const first = page[0];
          if (first && this.syncMark === null) this.syncMark = first.writtenAt;
          for (const row of page) if (!accept(row)) return true;
          const last = page.at(-1);
          if (!last || page.length < LOAD_PAGE_ROWS) return true;
          after = { writtenAt: last.writtenAt, id: last.id };
        }
      });
      if (done && this.syncMark === null) this.syncMark = new Date(0);
      return done !== null;
    });
  }

  /**
   * The rows written since the last look that `known` does not recognise (other instances'
   * entries, or newer versions of ours). Null when the database could not be read.
   */
  sync(now: number, known: (row: WrittenRow) => boolean): Promise<CacheEntryRow[] | null> {
    if (!this.deps.othersWrite) return Promise.resolve([]);
    return this.exclusive(() =>
      this.guarded(async () => {
        const mark = this.syncMark ?? new Date(0);
        // Read before the rows: a row this read cannot see was written at or after it. Not
        // readable (a database that keeps pg_stat_activity from this role): the 5 s overlap.
        const horizon = await readUncommittedHorizon(this.deps.db).catch(() => null);
        let since = mark.getTime() - SYNC_OVERLAP_MS;
        if (this.syncHorizon)
          since = Math.max(
            since,
            this.syncHorizon.getTime() - (this.deps.horizonMarginMs ?? HORIZON_MARGIN_MS),
          );
        const stamps = await listCacheEntriesWrittenSince(this.deps.db, {
          since: new Date(since),
          now: new Date(now),
        });
        this.syncHorizon = horizon;
        const last = stamps.at(-1);
        if (last && last.writtenAt > mark) this.syncMark = last.writtenAt;
        this.pruneForgotten();
        const wanted = stamps.filter((s) => !known(s) && !this.forgotten.has(s.id));
        const rows: CacheEntryRow[] = [];
        for (let i = 0; i < wanted.length; i += WRITE_CHUNK_ROWS) {
          const ids = wanted.slice(i, i + WRITE_CHUNK_ROWS).map((s) => s.id);
          rows.push(...(await findCacheEntriesByIds(this.deps.db, ids)));
        }
        return rows;
      }),
    );
  }

  /** Deletes expired rows (after writing what is queued); returns how many. */
  deleteExpired(now: number): Promise<number> {
    return this.exclusive(async () => {
      await this.flushNow();
      const deleted = await this.guarded(() =>
        deleteExpiredCacheEntries(this.deps.db, new Date(now)),
      );
      return deleted ?? 0;
    });
  }

  /** Writes what is queued, then deletes a tenant's rows; errors reach the caller. */
  deleteTenant(tenantId: string): Promise<number> {
    return this.exclusive(async () => {
      this.dropTenant(tenantId);
      await this.flushNow();
      return deleteTenantCacheEntries(this.deps.db, tenantId);
    });
  }

  private async flushNow(): Promise<void> {
    if (this.writes.size === 0 && this.deletes.size === 0 && this.deps.hits.size === 0) return;
    const writes = [...this.writes.values()];
    const deletes = [...this.deletes];
    const hits = this.deps.hits.take();
    this.writes.clear();
    this.deletes.clear();
    const written = await this.guarded(async () => {
      const rows = await this.seal(writes);
      for (let i = 0; i < rows.length; i += WRITE_CHUNK_ROWS) {
        await copyCacheEntries(this.deps.copyFrom, rows.slice(i, i + WRITE_CHUNK_ROWS));
      }
      for (let i = 0; i < deletes.length; i += WRITE_CHUNK_ROWS) {
        await deleteCacheEntriesById(this.deps.db, deletes.slice(i, i + WRITE_CHUNK_ROWS));
      }
      await recordCacheHits(this.deps.db, hits);
      return true;
    });
    if (written) return;
    // Not written (skipped or failed): put it all back behind anything queued since, unless it was evicted meanwhile.
    for (const id of deletes) this.deletes.add(id);
    for (const w of writes) {
      const key = w.tenantId + SEPARATOR + w.exactHash;
      if (!this.writes.has(key) && !this.deletes.has(w.id)) this.writes.set(key, w);
    }
    this.deps.hits.giveBack(hits);
  }

  private async seal(writes: PendingEntry[]): Promise<NewCacheEntry[]> {
    // All at once: a sealing thread seals what it is given together, in one batch.
    const sealedAll = await Promise.all(
      writes.map((w) =>
        this.deps.codec.seal(w.tenantId, w.exactHash, w.completionJson, w.question),
      ),
    );
    const rows: NewCacheEntry[] = [];
    for (const [i, w] of writes.entries()) {
      const sealed = sealedAll[i];
      if (!sealed) continue;
      rows.push({
        id: w.id,
        tenantId: w.tenantId,
        scopeHash: w.scopeHash,
        exactHash: w.exactHash,
        embedder: w.vector ? w.embedder : null,
        responseEnc: sealed.responseEnc,
        questionEnc: sealed.questionEnc,
        ...storedVector(w.vector),
        createdAt: new Date(w.createdAt),
        expiresAt: new Date(w.expiresAt),
        size: sealed.responseEnc.length + (sealed.questionEnc?.length ?? 0),
      });
    }
    return rows;
  }

  /** Runs a step behind the breaker and a timeout; null when skipped or failed. */
  private async guarded<T>(step: () => Promise<T>): Promise<T | null> {
    const { breaker, logger } = this.deps;
    if (!breaker.allows()) return null;
    try {
      const value = await withTimeout(step(), WRITE_TIMEOUT_MS, 'cache database step timed out');
      breaker.succeeded();
      return value;
    } catch (err) {
      if (breaker.failed()) {
        logger.warn(
          { reason: errorReason(err) },
          'cache database step failed; the cache serves from memory and writes when it is back',
        );
      }
      return null;
    }
  }

  private pruneForgotten(): void {
    const oldest = this.deps.clock.monotonic() - 4 * SYNC_OVERLAP_MS;
    for (const [id, at] of this.forgotten) {
      if (at >= oldest) break;
      this.forgotten.delete(id);
    }
  }
}
