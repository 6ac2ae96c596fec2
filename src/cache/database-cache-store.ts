import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { TenantKeys } from '../crypto/tenant-keys.js';
import type { Clock } from '../runtime/clock.js';
import { errorReason } from '../runtime/error-reason.js';
import type { Logger } from '../runtime/logger.js';
import { ThrottledWarning } from '../runtime/throttled-warning.js';
import { monotonicUuidv7 } from '../runtime/uuidv7.js';
import type { Database, DatabaseHandle } from '../storage/database.js';
import { Breaker } from './breaker.js';
import type { CacheConfig } from './cache-config.js';
import type {
  CacheHit,
  CacheLookup,
  CacheLookupResult,
  CacheStore,
  CacheWrite,
} from './cache-store.js';
import { DatabaseTier } from './database-tier.js';
import type { Embedder } from './embedders/embedder.js';
import { EntryCodec, type TextSealer } from './entry-codec.js';
import { numbersKey } from './guards.js';
import { HitCounter } from './hit-counter.js';
import { IndexLoader } from './index-loader.js';
import { type IndexedEntry, MemoryIndex } from './memory-index.js';
import { replayableUntil } from './replayable-until.js';
import { decideSemanticHit } from './semantic-decision.js';
import { TenantCap } from './tenant-cap.js';

/** After a database failure its steps are skipped this long, then one probes. */
const BREAKER_OPEN_MS = 1_000;

/** Sealed questions opened for their numbers between two turns of the event loop. */
const NUMBERS_READ_CHUNK = 64;
const MISS: CacheLookupResult = { hit: null, embedding: null };

/** An entry's answer, open: the completion and its JSON text. */
interface OpenAnswer {
  completion: ChatCompletion;
  json: string;
}

/** What the cache store is built from. */
export interface DatabaseCacheStoreDeps {
  db: Database;
  tenantKeys: TenantKeys;
  embedder: Embedder;
  clock: Clock;
  logger: Logger;
  config: CacheConfig;
  /** Seals entries off the event loop (the interaction log's sealing thread); here when absent. */
  sealer?: TextSealer;
  /**
   * Whether other processes write the same database (instances sharing PostgreSQL): only then
   * does `sync` read what they wrote. The embedded database has a single writer.
   */
  othersWrite: boolean;
  /** The database's binary COPY loader: the cache's writes go that way. */
  copyFrom: DatabaseHandle['copyFrom'];
}

/**
 * The real cache. A lookup runs in memory only: the exact key, then the nearest vector of the same
 * scope (threshold and precision guards). A store updates memory at once and queues the durable
 * write; the owner calls `flush` (batched writes) and `sync` (other instances' entries) on a timer.
 */
export class DatabaseCacheStore implements CacheStore {
  readonly enabled = true;
  readonly semantic = true;
  private readonly index: MemoryIndex;
  private readonly cap: TenantCap;
  private readonly hits = new HitCounter();
  private readonly codec: EntryCodec;
  private readonly tier: DatabaseTier;
  private readonly loader: IndexLoader;

  /** The configured semantic threshold, or the embedder's own. */
  private readonly threshold: number;
  /** Reading the numbers of entries loaded sealed (`readNumbers`), in the background. */
  private numbersRead: Promise<void> = Promise.resolve();
  private closed = false;
  /** A failing embedder (one saturated by a burst of misses) fails every request: a line per 10 s. */
  private readonly embedFailures: ThrottledWarning;

  constructor(private readonly deps: DatabaseCacheStoreDeps) {
    this.threshold = deps.config.semanticThreshold ?? deps.embedder.defaultThreshold;
    this.embedFailures = new ThrottledWarning(deps.logger, () => deps.clock.monotonic(), 10_000);
    const { embedder } = deps;
    this.index = new MemoryIndex(
      deps.config.memoryBytes,
      embedder.denseLeading === undefined
        ? null
        : { embedder: embedder.id, denseLeading: embedder.denseLeading },
    );
    this.cap = new TenantCap(deps.config.maxEntriesPerTenant);
    this.codec = new EntryCodec(deps.tenantKeys, deps.sealer);
    const breaker = new Breaker({ clock: deps.clock, openMs: BREAKER_OPEN_MS });
    this.tier = new DatabaseTier({ ...deps, codec: this.codec, breaker, hits: this.hits });
    this.loader = new IndexLoader({
      index: this.index,
      cap: this.cap,
      tier: this.tier,
      embedderId: deps.embedder.id,
      memoryBytes: deps.config.memoryBytes,
      ttlMs: deps.config.ttlMs,
      forgetTenant: (tenantId) => this.forgetTenant(tenantId),
      admittedSealed: (entries) => {
        this.numbersRead = this.numbersRead
          .then(() => this.readNumbers(entries))
          .catch((err: unknown) =>
            deps.logger.warn(
              { reason: errorReason(err) },
              'reading cached questions’ numbers failed; their scopes are searched in full',
            ),
          );
      },
    });
  }

  /** Reads the live entries into memory (newest first, within the memory bound). */
  load(): Promise<void> {
    return this.loader.load(this.deps.clock.now());
  }

  async lookup(q: CacheLookup): Promise<CacheLookupResult> {
    const { tenantId, keys } = q;
    const now = this.deps.clock.now();
    const notBefore = q.maxAgeMs === null ? null : now - q.maxAgeMs;
    const exact = this.index.get(tenantId, keys.exactHash);
    if (exact && exact.expiresAt <= now) this.drop(exact);
    else if (exact && (notBefore === null || exact.createdAt >= notBefore)) {
      const answer = await this.responseOf(exact);
      if (answer) return { hit: this.served(exact, answer, 'hit', 1, now), embedding: null };
    }
    const query = keys.semanticText;
    // With nothing in the scope there is nothing to compare with, and with no entry that may carry
    // the question's numbers the nearest could only be refused by the guards: no embedding and no
    // search on the request path (the store embeds, after the response).
    if (query === null || !this.index.hasScope(tenantId, keys.scopeHash)) return MISS;
    const numbers = numbersKey(query);
    if (!this.index.mayShareNumbers(tenantId, keys.scopeHash, numbers)) {
      return { hit: null, embedding: null, numbers };
    }
    const embedding = await this.embed(query, q.clientSignal?.());
    // What a miss from here on tells the store: the question's vector and numbers.
    const miss: CacheLookupResult = { hit: null, embedding, numbers };
    if (!embedding) return miss;
    const nearest = this.index.nearest({
      tenantId,
      scopeHash: keys.scopeHash,
      embedder: this.deps.embedder.id,
      vector: embedding,
      now,
      notBefore,
      minSimilarity: this.threshold,
    });
    if (!nearest || nearest.similarity < this.threshold) return miss;
    const candidate = await this.questionOf(nearest.entry);
    if (candidate === null) return miss;
    const decision = decideSemanticHit({
      query,
      candidate,
      similarity: nearest.similarity,
      threshold: this.threshold,
      skippedGuards: this.deps.embedder.skippedGuards,
    });
    if (!decision.hit) {
      this.deps.logger.debug(
        { similarity: nearest.similarity, reason: decision.reason },
        'semantic cache candidate refused',
      );
      return miss;
    }
    const answer = await this.responseOf(nearest.entry);
    if (!answer) return miss;
    const hit = this.served(nearest.entry, answer, 'semantic-hit', nearest.similarity, now);
    return { hit, embedding, numbers };
  }

  async store(w: CacheWrite): Promise<void> {
    if (!(await this.codec.canSeal(w.tenantId))) return;
    // An entry lives no longer than what its answer refers to at the provider (a spoken answer's
    // audio): one already gone is not worth storing.
    const until = replayableUntil(w.completion);
    if (until <= this.deps.clock.now()) return;
    const { keys } = w;
    const question = keys.semanticText;
    const vector = question === null ? null : (w.embedding ?? (await this.embed(question)));
    const now = this.deps.clock.now();
    const expiresAt = Math.min(now + this.deps.config.ttlMs, until);
    const completionJson = w.completionJson ?? JSON.stringify(w.completion);
    const entry: IndexedEntry = {
      // Sync compares ids for recency: a later store here must always sort after an earlier one.
      id: monotonicUuidv7(now),
      tenantId: w.tenantId,
      scopeHash: keys.scopeHash,
      exactHash: keys.exactHash,
      embedder: vector ? this.deps.embedder.id : null,
      dimensions: vector ? vector.length : null,
      response: completionJson,
      question,
      createdAt: now,
      expiresAt,
      provider: w.provider,
      bytes: this.index.bytesOf({
        responseChars: completionJson.length,
        questionChars: question?.length ?? 0,
        vector,
      }),
      numbers: question === null ? undefined : (w.numbers ?? numbersKey(question)),
    };
    this.index.set(entry, vector);
    this.loader.admit(entry);
    // Field by field, not `{ ...entry, … }`: fields added to a spread copy make a new shape (a map
    // and its descriptors, freed only by a full collection) for every entry stored.
    this.tier.enqueueWrite({
      id: entry.id,
      tenantId: entry.tenantId,
      scopeHash: entry.scopeHash,
      exactHash: entry.exactHash,
      embedder: entry.embedder,
      vector,
      completionJson,
      question,
      createdAt: entry.createdAt,
      expiresAt: entry.expiresAt,
      provider: entry.provider,
    });
  }

  async flushTenant(tenantId: string): Promise<number> {
    this.forgetTenant(tenantId);
    const deleted = await this.tier.deleteTenant(tenantId);
    // Entries stored while the delete waited for its turn are gone from the database too.
    this.forgetTenant(tenantId);
    return deleted;
  }

  async maintain(): Promise<number> {
    const now = this.deps.clock.now();
    for (const e of this.index.deleteExpired(now)) this.cap.remove(e.tenantId, e.exactHash);
    const deleted = await this.tier.deleteExpired(now);
    await this.tier.pruneFlushes(now - this.deps.config.ttlMs);
    return deleted;
  }

  flush(): Promise<void> {
    return this.tier.flush();
  }

  sync(): Promise<string[]> {
    return this.loader.sync(this.deps.clock.now());
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.numbersRead;
    return this.tier.flush();
  }

  /** Resolves once the numbers of every entry loaded so far have been read (or could not be). */
  numbersReadIdle(): Promise<void> {
    return this.numbersRead;
  }

  /**
   * Opens the questions of entries read sealed (from start-up or another instance) to learn their
   * numbers, a chunk at a time between other work, and forgets the text: until an entry's numbers
   * are known, every question of its scope is searched (see `lookup`). One that cannot be opened
   * stays unread.
   */
  private async readNumbers(entries: readonly IndexedEntry[]): Promise<void> {
    for (let i = 0; i < entries.length && !this.closed; i++) {
      const entry = entries[i];
      if (entry?.numbers === undefined && Buffer.isBuffer(entry?.question)) {
        const question = await this.codec
          .openQuestion(entry.tenantId, entry.exactHash, entry.question)
          .catch(() => null);
        if (question !== null) this.index.learnNumbers(entry, numbersKey(question));
      }
      if (i % NUMBERS_READ_CHUNK === NUMBERS_READ_CHUNK - 1) {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  private served(
    entry: IndexedEntry,
    answer: OpenAnswer,
    kind: CacheHit['kind'],
    similarity: number,
    now: number,
  ): CacheHit {
    this.hits.count(entry.tenantId, entry.exactHash, now);
    this.cap.touch(entry.tenantId, entry.exactHash, entry.id);
    return {
      kind,
      completion: answer.completion,
      completionJson: answer.json,
      similarity,
      createdAt: entry.createdAt,
      provider: entry.provider,
    };
  }

  private forgetTenant(tenantId: string): void {
    this.index.deleteTenant(tenantId);
    this.cap.forgetTenant(tenantId);
    this.hits.forgetTenant(tenantId);
    this.tier.dropTenant(tenantId);
  }

  /** Drops an entry from memory that can no longer answer (expired or unreadable). */
  private drop(entry: IndexedEntry): void {
    this.index.delete(entry.tenantId, entry.exactHash);
    this.cap.remove(entry.tenantId, entry.exactHash);
  }

  /** The entry's answer, opened once if it was read sealed (and kept open from then on). */
  private async responseOf(entry: IndexedEntry): Promise<OpenAnswer | null> {
    const held = entry.response;
    // Held open, it is the text the client received, or what this store wrote when it opened it.
    if (!Buffer.isBuffer(held))
      return { completion: JSON.parse(held) as ChatCompletion, json: held };
    const completion = await this.codec.openResponse(entry.tenantId, entry.exactHash, held);
    if (!completion) {
      this.drop(entry);
      return null;
    }
    // The estimate trades the sealed answer's bytes for the open text's (UTF-16, as entryBytes
    // counts it).
    const json = JSON.stringify(completion);
    this.index.reopen(entry, {
      ...entry,
      response: json,
      bytes: entry.bytes - held.length + json.length * 2,
    });
    return { completion, json };
  }

  private async questionOf(entry: IndexedEntry): Promise<string | null> {
    if (!Buffer.isBuffer(entry.question)) return entry.question;
    return this.codec.openQuestion(entry.tenantId, entry.exactHash, entry.question);
  }

  private async embed(text: string, signal?: AbortSignal): Promise<Float32Array | null> {
    try {
      const [vector] = await this.deps.embedder.embed([text], signal);
      return vector ?? null;
    } catch (err) {
      this.embedFailures.warn(
        { reason: errorReason(err) },
        'embedding failed; semantic cache skipped for this request',
      );
      return null;
    }
  }
}

/** Builds the cache store and loads the live entries into memory. */
export async function openDatabaseCacheStore(deps: DatabaseCacheStoreDeps): Promise<CacheStore> {
  const store = new DatabaseCacheStore(deps);
  await store.load();
  return store;
}
