import type { Clock } from '../runtime/clock.js';
import { errorReason } from '../runtime/error-reason.js';
import type { Logger } from '../runtime/logger.js';
import { monotonicUuidv7 } from '../runtime/uuidv7.js';
import { withTimeout } from '../runtime/with-timeout.js';
import type { Database, DatabaseHandle } from '../storage/database.js';
import type {
  CacheEntryCursor,
  CacheEntryRow,
  CacheEntryUsage,
} from '../storage/queries/cache-entries.js';
import {
  clampCacheEntryExpiries,
  copyCacheEntries,
  deleteCacheEntriesById,
  deleteCacheFlushesBefore,
  deleteExpiredCacheEntries,
  deleteTenantCacheEntries,
  findCacheEntriesByIds,
  listCacheEntriesNewestFirst,
  listCacheEntriesWrittenSince,
  listCacheEntryUsage,
  listCacheFlushesSince,
  readUncommittedHorizon,
  recordCacheHits,
} from '../storage/queries/cache-entries.js';
import type { Breaker } from './breaker.js';
import type { EntryCodec } from './entry-codec.js';

import type { HitCounter } from './hit-counter.js';
import { type PendingEntry, sealPending } from './pending-entry.js';

/** A row written by another instance, as sync reports it. */
export interface WrittenRow {
  id: string;
  tenantId: string;
  exactHash: string;
}

/** What one sync found: other instances' rows, and the tenants whose cache another flushed. */
export interface SyncFound {
  rows: CacheEntryRow[];
  /** Tenants flushed elsewhere since the last look, to drop from memory before `rows` are held. */
  flushedTenants: string[];
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
  /** The newest tenant flush sync has read (the database's clock; null until the first load). */
  private flushMark: Date | null = null;
  /**
   * Flushes already applied here (this process's own, and those sync has read), by id, with when
   * the database recorded them (Infinity until read): a flush read again is not applied again.
   */
  private readonly appliedFlushes = new Map<string, number>();
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
  /**
   * Start-up: rows stored under a longer lifetime than `ttlMs` expire by their age (see
   * clampCacheEntryExpiries). A database that does not answer leaves them to the loader, which
   * holds them by their age all the same.
   */
  async clampExpiries(ttlMs: number): Promise<void> {
    await this.exclusive(() => this.guarded(() => clampCacheEntryExpiries(this.deps.db, ttlMs)));
  }

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
   * entries, or newer versions of ours), and the tenants another instance flushed since. Null
   * when the database could not be read.
   */
  sync(now: number, known: (row: WrittenRow) => boolean): Promise<SyncFound | null> {
    if (!this.deps.othersWrite) return Promise.resolve({ rows: [], flushedTenants: [] });
    return this.exclusive(() =>
      this.guarded(async () => {
        const mark = this.syncMark ?? new Date(0);
        // Read before the rows: a row this read cannot see was written at or after it. Not
        // readable (a database that keeps pg_stat_activity from this role): the 5 s overlap.
        const horizon = await readUncommittedHorizon(this.deps.db).catch(() => null);
        // Flushes before rows: a row the flush deleted is then not read back after it.
        const flushedTenants = await this.readFlushes();
        const stamps = await listCacheEntriesWrittenSince(this.deps.db, {
          since: new Date(this.sinceOf(mark)),
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
        return { rows, flushedTenants };
      }),
    );
  }

  /** Where a read from `mark` starts: the overlap before it, or the last horizon if later. */
  private sinceOf(mark: Date): number {
    const since = mark.getTime() - SYNC_OVERLAP_MS;
    if (!this.syncHorizon) return since;
    const margin = this.deps.horizonMarginMs ?? HORIZON_MARGIN_MS;
    return Math.max(since, this.syncHorizon.getTime() - margin);
  }

  /** The tenants flushed since the last look and not yet applied here. */
  private async readFlushes(): Promise<string[]> {
    const mark = this.flushMark ?? this.syncMark ?? new Date(0);
    const since = this.sinceOf(mark);
    const flushes = await listCacheFlushesSince(this.deps.db, new Date(since));
    const tenants: string[] = [];
    for (const f of flushes) {
      if (!this.appliedFlushes.has(f.id)) tenants.push(f.tenantId);
      this.appliedFlushes.set(f.id, f.flushedAt.getTime());
      if (f.flushedAt > mark) this.flushMark = f.flushedAt;
    }
    this.flushMark ??= mark;
    // The start of a read only moves forward: a flush recorded at or before it is never read again.
    for (const [id, at] of this.appliedFlushes) if (at <= since) this.appliedFlushes.delete(id);
    return tenants;
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

  /**
   * Writes what is queued, then deletes a tenant's rows and records the flush for the other
   * instances; errors reach the caller.
   */
  deleteTenant(tenantId: string): Promise<number> {
    return this.exclusive(async () => {
      this.dropTenant(tenantId);
      await this.flushNow();
      const flushId = monotonicUuidv7(this.deps.clock.now());
      // Already applied here: this process's own sync must not drop what is stored after it.
      this.appliedFlushes.set(flushId, Number.POSITIVE_INFINITY);
      try {
        return await deleteTenantCacheEntries(this.deps.db, tenantId, flushId);
      } catch (err) {
        this.appliedFlushes.delete(flushId);
        throw err;
      }
    });
  }

  /**
   * Deletes the flush records made at or before `before`: once no entry stored before a flush can
   * still be live (its time to live has passed), no instance needs to read it.
   */
  pruneFlushes(before: number): Promise<number> {
    return this.exclusive(async () => {
      const deleted = await this.guarded(() =>
        deleteCacheFlushesBefore(this.deps.db, new Date(before)),
      );
      return deleted ?? 0;
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
      const rows = await sealPending(this.deps.codec, writes);
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
