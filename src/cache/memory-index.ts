import { LRUCache } from 'lru-cache';
import { KeyCounts } from './key-counts.js';
import { nonZeros } from './vector-math.js';
import { VectorShelf } from './vector-shelf.js';

/**
 * One cache entry in memory. The answer and question are held decrypted when this process stored
 * them, sealed (ciphertext) when they were read from the database, and opened on first use. The
 * answer is held as its JSON text, not as the object: a string is one object for the collector to
 * trace and to move to the old generation, where a parsed completion is a dozen.
 */
export interface IndexedEntry {
  /** The row id of this version of the entry. */
  readonly id: string;
  readonly tenantId: string;
  readonly scopeHash: string;
  readonly exactHash: string;
  /** The embedder that made its vector; vectors of different embedders are never compared. */
  readonly embedder: string | null;
  /**
   * The length of its vector, which only the scope's search index holds (a sparse copy: the entry
   * does not keep the dense one); null when the question is matched exactly only.
   */
  readonly dimensions: number | null;
  /** The answer as JSON (the text the client received), or sealed. */
  readonly response: string | Buffer;
  /** The normalised question (null when the question is matched exactly only). */
  readonly question: string | Buffer | null;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** The configured upstream that gave the answer; null for an entry stored before it was kept. */
  readonly provider: string | null;
  /** Approximate bytes the entry occupies. */
  readonly bytes: number;
  /**
   * The question's numbers as the guards read them (`numbersKey`); absent while not known (a
   * question read sealed from the database and not opened since).
   */
  numbers?: string;
}

/** The nearest entry of a scope and its cosine similarity to the question. */
export interface NearestEntry {
  entry: IndexedEntry;
  similarity: number;
}

// Tenant ids never contain a newline, so `tenant\nhash` keys cannot collide across tenants.
const SEPARATOR = '\n';
const ENTRY_OVERHEAD_BYTES = 256;
/**
 * A sparse component: index and value in its row and in its postings (8 + 8), and as much again
 * while their arrays have room to grow; plus each vector's own slot in the search's arrays.
 */
const SPARSE_COMPONENT_BYTES = 32;
const SHELF_SLOT_BYTES = 96;

/**
 * Approximate bytes of an entry's parts in memory: strings as UTF-16, and its vector as the search
 * index holds it: its leading dimensions as a dense row (`denseLeading` of them, the embedder's
 * layout; unset: all of them when the vector is mostly nonzero, none otherwise), each other
 * nonzero component twice, in its row and in its dimension's postings, with their arrays' room
 * to grow.
 */
export function entryBytes(parts: {
  responseChars: number;
  questionChars: number;
  vector: Float32Array | null;
  denseLeading?: number | undefined;
}): number {
  return (
    (parts.responseChars + parts.questionChars) * 2 +
    (parts.vector ? shelvedVectorBytes(parts.vector, parts.denseLeading) : 0) +
    ENTRY_OVERHEAD_BYTES
  );
}

function shelvedVectorBytes(vector: Float32Array, denseLeading: number | undefined): number {
  const lead = denseLeading ?? (nonZeros(vector) * 2 > vector.length ? vector.length : 0);
  const row = lead * 4 + nonZeros(vector, lead) * SPARSE_COMPONENT_BYTES;
  return row + SHELF_SLOT_BYTES;
}

/** How one embedder's vectors are laid out: see Embedder.denseLeading. */
export interface VectorLayout {
  embedder: string;
  denseLeading: number;
}

/** One (tenant, scope)'s entries, and their vectors by embedder. */
interface Scope {
  entries: Set<IndexedEntry>;
  /** Keyed by embedder and dimensions: vectors of different embedders are never compared. */
  shelves: Map<string, VectorShelf<IndexedEntry>>;
  /** How many entries with a vector carry each numbers key. */
  numbers: KeyCounts;
  /** Entries with a vector whose numbers are not known. */
  unread: number;
}

/** Counts an entry with a vector in (`by` 1) or out (−1) of its scope's numbers. */
function tally(scope: Scope, numbers: string | undefined, by: 1 | -1): void {
  if (numbers === undefined) {
    scope.unread += by;
    return;
  }
  scope.numbers.add(numbers, by);
}

/**
 * The cache's lookup index: entries by (tenant, exact hash), and each (tenant, scope)'s vectors
 * for the semantic search (see VectorShelf). Bounded by bytes; the least recently used entries
 * leave memory first (they stay in the database).
 */
export class MemoryIndex {
  private readonly lru: LRUCache<string, IndexedEntry>;
  private readonly scopes = new Map<string, Scope>();

  /** `layout`: the current embedder's, when it declares one (others' shelves decide by their first vector). */
  constructor(
    maxBytes: number,
    private readonly layout: VectorLayout | null = null,
  ) {
    this.lru = new LRUCache<string, IndexedEntry>({
      maxSize: maxBytes,
      sizeCalculation: (entry) => Math.max(1, entry.bytes),
      dispose: (entry) => this.unlinkScope(entry),
    });
  }

  /** The entry of this exact key, marked as recently used. */
  get(tenantId: string, exactHash: string): IndexedEntry | undefined {
    return this.lru.get(tenantId + SEPARATOR + exactHash);
  }

  /**
   * Adds or replaces an entry; `vector` (of `entry.dimensions` components, from `entry.embedder`)
   * goes into its scope's search index, and only there.
   */
  set(entry: IndexedEntry, vector: Float32Array | null): void {
    if (vector !== null && vector.length !== entry.dimensions) {
      throw new RangeError(`a vector of ${vector.length} for an entry of ${entry.dimensions}`);
    }
    const key = entry.tenantId + SEPARATOR + entry.exactHash;
    this.lru.set(key, entry);
    // An entry larger than the whole bound is refused by the LRU: keep the scope in step.
    if (this.lru.peek(key) !== entry) return;
    const scope = this.scopeOf(entry, true);
    scope.entries.add(entry);
    if (entry.embedder === null || vector === null) return;
    const shelfKey = shelfKeyOf(entry.embedder, vector.length);
    let shelf = scope.shelves.get(shelfKey);
    if (!shelf) {
      const { layout } = this;
      const lead =
        layout !== null &&
        layout.embedder === entry.embedder &&
        layout.denseLeading <= vector.length
          ? layout.denseLeading
          : undefined;
      shelf = new VectorShelf(vector.length, lead);
      scope.shelves.set(shelfKey, shelf);
    }
    if (shelf.add(entry, vector)) tally(scope, entry.numbers, 1);
  }

  /**
   * Puts `opened` (the same entry, its answer decrypted) in the place of `entry`, keeping its vector
   * where the search index has it; nothing happens if `entry` is no longer held.
   */
  reopen(entry: IndexedEntry, opened: IndexedEntry): void {
    const key = entry.tenantId + SEPARATOR + entry.exactHash;
    if (this.lru.peek(key) !== entry) return;
    this.lru.set(key, opened, { noDisposeOnSet: true });
    const scope = this.scopeOf(entry, false);
    if (this.lru.peek(key) !== opened) {
      // Refused as too large: the key is gone, and so must the entry be from its scope.
      this.unlinkScope(entry);
      return;
    }
    if (!scope) return;
    scope.entries.delete(entry);
    scope.entries.add(opened);
    // `opened` is a copy of `entry`: the same numbers, so the scope's count stands.
    shelfOf(scope, entry)?.replaceOwner(entry, opened);
  }

  /**
   * Records the numbers of an entry's question once it has been read (a sealed question, opened),
   * on the version of the entry held now (the same row, perhaps opened since); nothing happens
   * when they are known already or that row is no longer held.
   */
  learnNumbers(entry: IndexedEntry, numbers: string): void {
    const held = this.lru.peek(entry.tenantId + SEPARATOR + entry.exactHash);
    if (held === undefined || held.id !== entry.id || held.numbers !== undefined) return;
    const scope = this.scopeOf(held, false);
    const shelved = scope !== undefined && shelfOf(scope, held)?.holds(held) === true;
    if (shelved) tally(scope, undefined, -1);
    held.numbers = numbers;
    if (shelved) tally(scope, numbers, 1);
  }

  /**
   * False when no entry with a vector in the scope can carry these numbers (`numbersKey`): none
   * has them, and every entry's are known. The guards refuse a candidate whose numbers differ,
   * so a search of such a scope could only end in a miss.
   */
  mayShareNumbers(tenantId: string, scopeHash: string, numbers: string): boolean {
    const scope = this.scopes.get(tenantId + SEPARATOR + scopeHash);
    if (!scope) return false;
    return scope.unread > 0 || scope.numbers.has(numbers);
  }

  delete(tenantId: string, exactHash: string): void {
    this.lru.delete(tenantId + SEPARATOR + exactHash);
  }

  /** Drops every entry of a tenant. */
  deleteTenant(tenantId: string): void {
    const prefix = tenantId + SEPARATOR;
    for (const key of [...this.lru.keys()]) {
      if (key.startsWith(prefix)) this.lru.delete(key);
    }
  }

  /** Drops entries expired at `now`; returns them. */
  deleteExpired(now: number): IndexedEntry[] {
    const expired = [...this.lru.values()].filter((e) => e.expiresAt <= now);
    for (const e of expired) this.lru.delete(e.tenantId + SEPARATOR + e.exactHash);
    return expired;
  }

  /** True when the scope has entries in memory (else embedding a question cannot find anything). */
  hasScope(tenantId: string, scopeHash: string): boolean {
    return (this.scopes.get(tenantId + SEPARATOR + scopeHash)?.entries.size ?? 0) > 0;
  }

  /**
   * The live entry of a scope whose vector (from the same embedder) is nearest to `vector` by cosine
   * similarity, among those created at or after `notBefore` and at least `minSimilarity` similar
   * (unset: however similar). The earliest stored wins a tie.
   */
  nearest(q: {
    tenantId: string;
    scopeHash: string;
    embedder: string;
    vector: Float32Array;
    now: number;
    notBefore: number | null;
    minSimilarity?: number;
  }): NearestEntry | null {
    const shelf = this.scopes
      .get(q.tenantId + SEPARATOR + q.scopeHash)
      ?.shelves.get(shelfKeyOf(q.embedder, q.vector.length));
    if (!shelf) return null;
    const { now, notBefore } = q;
    const found = shelf.nearest(
      q.vector,
      q.minSimilarity ?? Number.NEGATIVE_INFINITY,
      (e) => e.expiresAt > now && (notBefore === null || e.createdAt >= notBefore),
    );
    return found === null ? null : { entry: found.owner, similarity: found.similarity };
  }

  /** Approximate bytes of an entry whose vector (if any) is the current embedder's: see entryBytes. */
  bytesOf(parts: {
    responseChars: number;
    questionChars: number;
    vector: Float32Array | null;
  }): number {
    return entryBytes({ ...parts, denseLeading: this.layout?.denseLeading });
  }

  /** Entries held. */
  get size(): number {
    return this.lru.size;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.lru.calculatedSize;
  }

  private scopeOf(entry: IndexedEntry, create: true): Scope;
  private scopeOf(entry: IndexedEntry, create: false): Scope | undefined;
  private scopeOf(entry: IndexedEntry, create: boolean): Scope | undefined {
    const scopeKey = entry.tenantId + SEPARATOR + entry.scopeHash;
    let scope = this.scopes.get(scopeKey);
    if (!scope && create) {
      scope = { entries: new Set(), shelves: new Map(), numbers: new KeyCounts(), unread: 0 };
      this.scopes.set(scopeKey, scope);
    }
    return scope;
  }

  private unlinkScope(entry: IndexedEntry): void {
    const scopeKey = entry.tenantId + SEPARATOR + entry.scopeHash;
    const scope = this.scopes.get(scopeKey);
    if (!scope?.entries.delete(entry)) return;
    const shelf = shelfOf(scope, entry);
    if (shelf?.remove(entry)) tally(scope, entry.numbers, -1);
    if (shelf && shelf.size === 0 && entry.embedder !== null && entry.dimensions !== null) {
      scope.shelves.delete(shelfKeyOf(entry.embedder, entry.dimensions));
    }
    if (scope.entries.size === 0) this.scopes.delete(scopeKey);
  }
}

/** The shelf of the scope that holds (or would hold) an entry's vector. */
function shelfOf(scope: Scope, entry: IndexedEntry): VectorShelf<IndexedEntry> | undefined {
  if (entry.embedder === null || entry.dimensions === null) return undefined;
  return scope.shelves.get(shelfKeyOf(entry.embedder, entry.dimensions));
}

function shelfKeyOf(embedder: string, dimensions: number): string {
  return embedder + SEPARATOR + dimensions;
}
