import type { Postings } from './heavy-prefix.js';
import { heavyPrefix } from './heavy-prefix.js';
import { PrefixSums } from './prefix-sums.js';
import { checkpoints, grow, lengthsPastCheckpoints, ShelfRows } from './vector-rows.js';

/**
 * The vectors of one scope from one embedder, searched for the nearest to a question.
 *
 * Vectors sit in flat typed arrays (ShelfRows), in the order they were added: the leading
 * dimensions dense, the others sparse and indexed here by dimension. A removed vector leaves a
 * hole until holes outnumber the vectors, then the arrays are compacted (order kept).
 *
 * A search for vectors at least `t` similar need not compute every dot product. Split the
 * question's nonzero dimensions into a set P and the rest S. For any vector x,
 *   q·x = Σ_{d∈P} q_d·x_d + q_S·x_S ≤ Σ_{d∈P} q_d·x_d + |q_S|·|x_S|      (Cauchy–Schwarz),
 * where |x_S|² = |x|² − Σ_{d∈P} x_d². An inverted index (each dimension's slots and values)
 * gives both sums over P for every vector that has a component in P; a vector with none has
 * q·x ≤ |q_S|·|x|. P is chosen so that |q_S| is well below t·|q| (so vectors sharing nothing
 * with P are out at once), taking first the dimensions that weigh most for the fewest postings
 * read (the bound holds for any P). P is drawn from the indexed dimensions only: the leading
 * ones are always in S, so a blended vector's model part counts at most its length in a bound
 * (0.84 of a unit vector at a lexical weight of 0.3), and a question's neighbours must make up
 * the rest over the words they share. Only vectors whose bound reaches t get their exact dot
 * product, computed as a full scan computes it and met in the same order, so for every vector
 * at or above t the answer is the scan's, ties (to the earliest added) included.
 *
 * A scan (vectors all dense, as a provider's embeddings are, or too few to index) bounds each
 * vector the same way as it goes: after a quarter and after half of its dense row, the sum so far
 * plus |q_rest|·|x_rest| (each vector's lengths past those two points are kept) must still reach
 * t, and the best score so far, or the rest of the row is not read. Unrelated vectors of a dense
 * model rarely pass the first check at a useful threshold (97% of sentence-encoder vectors fail it
 * at 0.87, measured on the STS-B and Natural Questions texts).
 */

/** Below this many vectors a scan is as cheap as the index; the index is built from here. */
const INDEX_FROM_VECTORS = 64;
/** Holes are compacted away once they are this many and outnumber the live vectors. */
const COMPACT_FROM_HOLES = 32;
/**
 * Slack against rounding: a vector is dropped only when its bound is this far below the
 * threshold (double-precision sums of ≤ a few thousand float32 products err by ~1e-13).
 */
const BOUND_SLACK = 1e-9;
/**
 * P grows until the length of the question outside it is at most this share of t·|q|: a larger
 * P reads more postings, a smaller one lets more vectors through to an exact dot product. Chosen
 * by counting both on the STS questions and on the overhead bench's templated questions, and
 * checked again by timing searches inside the loaded gateway (0.75 against 0.85 and 0.92: a
 * search alone is fastest at 0.92, but in the gateway each extra candidate costs more).
 */
const REST_SHARE_OF_THRESHOLD = 0.75;

/** A vector's owner and whether it may be returned for this search (live, recent enough). */
export type Accept<T> = (owner: T) => boolean;

/** The nearest vector found and its cosine similarity to the question. */
export interface ShelfNearest<T> {
  owner: T;
  similarity: number;
}

export class VectorShelf<T> {
  /** The owner of each slot, null for a hole. */
  private owners: (T | null)[] = [];
  private readonly slotOf = new Map<T, number>();
  private live = 0;
  private readonly rows: ShelfRows;
  private postings: (Postings | null)[] | null = null;
  /** Per-slot scratch of the search. */
  private readonly sums = new PrefixSums();

  /**
   * `lead`: how many leading dimensions every vector fills (held densely; the rest are mostly
   * zeros, held sparse and indexed). Unset: decided by the first vector, all of them when it is
   * mostly nonzero, none otherwise.
   */
  constructor(
    readonly dimensions: number,
    lead?: number,
  ) {
    this.rows = new ShelfRows(dimensions, lead);
  }

  /** Vectors held. */
  get size(): number {
    return this.live;
  }

  /**
   * Adds a vector (of length `dimensions`) for `owner`, after every vector added before; false
   * when `owner` already had one (it is replaced).
   */
  add(owner: T, vector: Float32Array): boolean {
    if (vector.length !== this.dimensions) {
      throw new RangeError(
        `vector of ${vector.length} dimensions in a shelf of ${this.dimensions}`,
      );
    }
    const held = this.remove(owner);
    const slot = this.owners.length;
    this.owners.push(owner);
    this.slotOf.set(owner, slot);
    this.live += 1;
    this.rows.append(slot, vector);
    if (this.postings) {
      this.sums.grow(this.rows.capacity);
      this.post(slot);
    } else if (this.rows.hasSparse && this.live >= INDEX_FROM_VECTORS) this.buildPostings();
    return !held;
  }

  /** Whether `owner` has a vector here. */
  holds(owner: T): boolean {
    return this.slotOf.has(owner);
  }

  /** Hands the vector of `owner` to `next` (in the same place, so ties resolve as before). */
  replaceOwner(owner: T, next: T): void {
    const slot = this.slotOf.get(owner);
    if (slot === undefined || this.slotOf.has(next)) return;
    this.slotOf.delete(owner);
    this.slotOf.set(next, slot);
    this.owners[slot] = next;
  }

  /** Removes the vector of `owner`; false when it was not held. */
  remove(owner: T): boolean {
    const slot = this.slotOf.get(owner);
    if (slot === undefined) return false;
    this.slotOf.delete(owner);
    this.owners[slot] = null;
    this.live -= 1;
    const holes = this.owners.length - this.live;
    if (holes >= COMPACT_FROM_HOLES && holes > this.live) this.compact();
    return true;
  }

  /**
   * The accepted vector most similar (cosine) to `query`, among those whose similarity is at least
   * `minSimilarity` (−Infinity: the most similar at all); the earliest added wins a tie. Null when
   * there is none. A question or vector of length 0 or not finite finds or is found by nothing.
   */
  nearest(query: Float32Array, minSimilarity: number, accept: Accept<T>): ShelfNearest<T> | null {
    if (query.length !== this.dimensions || this.live === 0) return null;
    let queryNormSq = 0;
    for (let i = 0; i < query.length; i++) queryNormSq += query[i] * query[i];
    const queryNorm = Math.sqrt(queryNormSq);
    if (queryNorm === 0 || !Number.isFinite(queryNorm)) return null;
    const target = minSimilarity - BOUND_SLACK;
    const indexed = this.postings !== null && target > 0;
    const found = indexed
      ? this.searchIndexed(query, queryNorm, target, accept)
      : this.scan(query, queryNorm, target, accept);
    if (found === null) return null;
    const similarity = Math.max(-1, Math.min(1, found.dot / (found.norm * queryNorm)));
    return similarity >= minSimilarity ? { owner: found.owner, similarity } : null;
  }

  /**
   * Every live vector, in slot order; with long dense rows, a vector whose bound part-way falls
   * below the threshold and the best so far is left there.
   */
  private scan(
    query: Float32Array,
    queryNorm: number,
    target: number,
    accept: Accept<T>,
  ): Best<T> | null {
    const best = new BestSoFar<T>();
    const { rows } = this;
    const lead = rows.lead ?? 0;
    if (!rows.staged) {
      for (let slot = 0; slot < this.owners.length; slot++) {
        this.consider(slot, query, accept, best);
      }
      return best.result();
    }
    const [first, second] = checkpoints(lead);
    const [rest1, rest2] = lengthsPastCheckpoints(query, lead);
    const bar = target * queryNorm;
    const slack = BOUND_SLACK * queryNorm;
    // What dot / |x| must reach: the threshold, and the best so far (a tie keeps the earlier).
    let reach = bar;
    const { block, norms, tails, indices, values, starts } = rows;
    for (let slot = 0; slot < this.owners.length; slot++) {
      const owner = this.owners[slot];
      if (owner === null || owner === undefined) continue;
      const norm = norms[slot];
      if (norm === 0) continue;
      const floor = reach * norm;
      // The same sum as `dot`, in the same order, with two looks at its bound on the way.
      const base = slot * lead;
      let dot = 0;
      let i = 0;
      for (; i < first; i++) dot += block[base + i] * query[i];
      if (dot + rest1 * tails[2 * slot] < floor) continue;
      for (; i < second; i++) dot += block[base + i] * query[i];
      if (dot + rest2 * tails[2 * slot + 1] < floor) continue;
      for (; i < lead; i++) dot += block[base + i] * query[i];
      const end = starts[slot + 1];
      for (let k = starts[slot]; k < end; k++) dot += values[k] * query[indices[k]];
      if (best.beatenBy(dot, norm) && accept(owner)) {
        best.take(owner, dot, norm);
        reach = Math.max(bar, dot / norm - slack);
      }
    }
    return best.result();
  }

  private searchIndexed(
    query: Float32Array,
    queryNorm: number,
    target: number,
    accept: Accept<T>,
  ): Best<T> | null {
    const postings = this.postings;
    if (postings === null) return this.scan(query, queryNorm, target, accept);
    const prefix = heavyPrefix(
      query,
      this.rows.lead ?? 0,
      queryNorm * target * REST_SHARE_OF_THRESHOLD,
      postings,
    );
    // cos ≤ partial / (|q|·|x|) + rest / |q|: a vector is a candidate iff partial ≥ need·|x|.
    const need = (target - prefix.rest / queryNorm) * queryNorm;
    if (!(need > 0)) return this.scan(query, queryNorm, target, accept);

    const slotCount = this.owners.length;
    let postingCount = 0;
    for (let p = 0; p < prefix.count; p++) {
      postingCount += postings[prefix.dimensions[p]]?.length ?? 0;
    }
    // Every slot's sums at once when the prefix's postings reach most slots (common words in a
    // scope of similar questions); otherwise only the slots the postings name.
    const dense = postingCount >= slotCount;
    const { sums } = this;
    let touchedCount = slotCount;
    if (dense) sums.sumAll(query, prefix, postings, slotCount);
    else touchedCount = sums.sumTouched(query, prefix, postings);
    // Each examined vector's bound on its score (dot / |x|, which is |q|·cos): partial over P
    // plus |q_S|·|x_S|, where |x_S| is the vector's length outside P, rounded up so that rounding
    // never shrinks the bound. Those reaching the threshold are candidates, kept at the front of
    // `touched`; the candidate with the highest bound is the likeliest best. A slot no posting
    // named has partial 0 and |x_S| = |x|, so its bound is |q_S|, below the bar.
    const { rows } = this;
    const { norms } = rows;
    const { bounds, partial, touched } = sums;
    const rest = prefix.rest;
    const bar = target * queryNorm;
    let candidateCount = 0;
    let likeliest = -1;
    let likeliestBound = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < touchedCount; i++) {
      const slot = dense ? i : touched[i];
      const norm = norms[slot];
      // |x_S| ≤ |x|·(1 + 1e-12): a vector that cannot pass even so needs no square root.
      const dot = partial[2 * slot];
      if (dot + rest * norm * (1 + 1e-12) < bar * norm) continue;
      const normSq = norm * norm;
      const outside = Math.sqrt(Math.max(0, normSq - partial[2 * slot + 1]) + 1e-12 * normSq);
      const bound = (dot + rest * outside) / norm;
      if (!(bound >= bar)) continue;
      bounds[slot] = bound;
      touched[candidateCount++] = slot;
      if (bound > likeliestBound) {
        likeliestBound = bound;
        likeliest = slot;
      }
    }
    if (candidateCount === 0) return null;
    // The likeliest candidate's exact score is a floor: a vector whose bound is below it can
    // neither beat nor tie it, so it needs no dot product.
    let floor = bar;
    const owner = this.owners[likeliest];
    if (owner !== null && owner !== undefined && accept(owner)) {
      floor = Math.max(
        bar,
        rows.dot(likeliest, query) / norms[likeliest] - BOUND_SLACK * queryNorm,
      );
    }
    let kept = 0;
    for (let i = 0; i < candidateCount; i++) {
      const slot = touched[i];
      if (bounds[slot] >= floor) touched[kept++] = slot;
    }
    // In slot order, as a scan meets them, so ties resolve as a scan resolves them (a typed
    // array sorts numerically, in place).
    const candidates = touched.subarray(0, kept).sort();
    const best = new BestSoFar<T>();
    for (let i = 0; i < kept; i++) this.consider(candidates[i], query, accept, best);
    return best.result();
  }

  /** A scan's step: the exact dot product of one slot, kept if it beats the best so far. */
  private consider(slot: number, query: Float32Array, accept: Accept<T>, best: BestSoFar<T>): void {
    const owner = this.owners[slot];
    if (owner === null || owner === undefined) return;
    const norm = this.rows.norms[slot];
    if (norm === 0) return;
    const dot = this.rows.dot(slot, query);
    // Asked only of a vector that would be the best so far: most never are, and asking reads
    // the owner (an object elsewhere in memory) where the dot product reads the shelf's arrays.
    if (best.beatenBy(dot, norm) && accept(owner)) best.take(owner, dot, norm);
  }

  /** Adds one slot's sparse components to the postings of their dimensions. */
  private post(slot: number): void {
    const postings = this.postings;
    if (!postings) return;
    const { starts, indices, values } = this.rows;
    const end = starts[slot + 1];
    for (let k = starts[slot]; k < end; k++) {
      const d = indices[k];
      let list = postings[d];
      if (!list) {
        list = { slots: new Int32Array(4), values: new Float32Array(4), length: 0 };
        postings[d] = list;
      }
      if (list.length === list.slots.length) {
        list.slots = grow(list.slots, list.length * 2);
        list.values = grow(list.values, list.length * 2);
      }
      list.slots[list.length] = slot;
      list.values[list.length++] = values[k];
    }
  }

  private buildPostings(): void {
    this.postings = new Array<Postings | null>(this.dimensions).fill(null);
    this.sums.grow(this.rows.capacity);
    for (let slot = 0; slot < this.owners.length; slot++) {
      if (this.owners[slot] !== null) this.post(slot);
    }
  }

  /** Rewrites the arrays without holes, in the same order. */
  private compact(): void {
    const owners: T[] = [];
    for (let slot = 0; slot < this.owners.length; slot++) {
      const owner = this.owners[slot];
      if (owner === null || owner === undefined) continue;
      const target = owners.length;
      this.rows.move(slot, target);
      this.slotOf.set(owner, target);
      owners.push(owner);
    }
    this.owners = owners;
    if (this.postings !== null) {
      this.postings = null;
      if (this.live >= INDEX_FROM_VECTORS) this.buildPostings();
    }
  }
}

/** The best candidate of a search so far, compared as dot/norm without dividing. */
interface Best<T> {
  owner: T;
  dot: number;
  norm: number;
}

class BestSoFar<T> {
  private best: Best<T> | null = null;

  /** Whether a vector with this dot product and norm would replace the best so far. */
  beatenBy(dot: number, norm: number): boolean {
    const best = this.best;
    // a/b > c/d ⇔ a·d > c·b for b, d > 0; a tie keeps the earlier.
    return best === null || dot * best.norm > best.dot * norm;
  }

  /** Makes this vector the best so far (after `beatenBy` said it would be). */
  take(owner: T, dot: number, norm: number): void {
    const best = this.best;
    if (best === null) this.best = { owner, dot, norm };
    else {
      best.owner = owner;
      best.dot = dot;
      best.norm = norm;
    }
  }

  result(): Best<T> | null {
    return this.best;
  }
}
