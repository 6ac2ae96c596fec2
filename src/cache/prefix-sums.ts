import type { HeavyPrefix, Postings } from './heavy-prefix.js';

/**
 * The per-slot scratch of a vector shelf's search: for each slot, the dot product of its vector
 * with the question over the heavy prefix P and its own squared length over P, side by side in
 * `partial` (a posting updates both in one cache line: searches of a scope of similar questions
 * read every slot's pair once per prefix dimension), plus room for bounds and a list of slots. A
 * search runs to its end without yielding, so one scratch serves every search of a shelf.
 */
export class PrefixSums {
  /** Per slot s: the partial dot product at 2s, the partial squared length at 2s + 1. */
  partial = new Float64Array(0);
  bounds = new Float64Array(0);
  /** The slots the last `sumTouched` summed; a search reuses it for its candidates. */
  touched = new Int32Array(0);
  /** The search that last set each slot's sums (`sumTouched` clears nothing). */
  private stamp = new Uint32Array(0);
  private generation = 0;

  /** Makes room for `capacity` slots (the sums are cleared). */
  grow(capacity: number): void {
    if (this.bounds.length >= capacity) return;
    this.partial = new Float64Array(2 * capacity);
    this.bounds = new Float64Array(capacity);
    this.touched = new Int32Array(capacity);
    this.stamp = new Uint32Array(capacity);
    this.generation = 0;
  }

  /**
   * Sums over P for every one of the first `slotCount` slots (cleared first): cheaper than
   * tracking which slots were named once the postings reach most slots.
   */
  sumAll(
    query: Float32Array,
    prefix: HeavyPrefix,
    postings: readonly (Postings | null)[],
    slotCount: number,
  ): void {
    const { partial } = this;
    partial.fill(0, 0, 2 * slotCount);
    for (let p = 0; p < prefix.count; p++) {
      const list = postings[prefix.dimensions[p]];
      if (list) addPostings(list, query[prefix.dimensions[p]], partial);
    }
  }

  /**
   * Sums over P for the slots the postings name, listed at the front of `touched`; returns
   * their count. Other slots keep whatever an earlier search left in them.
   */
  sumTouched(
    query: Float32Array,
    prefix: HeavyPrefix,
    postings: readonly (Postings | null)[],
  ): number {
    this.generation = (this.generation + 1) >>> 0;
    if (this.generation === 0) {
      this.stamp.fill(0);
      this.generation = 1;
    }
    const { partial, stamp, generation, touched } = this;
    let touchedCount = 0;
    for (let p = 0; p < prefix.count; p++) {
      const list = postings[prefix.dimensions[p]];
      if (!list) continue;
      const weight = query[prefix.dimensions[p]];
      const { slots, values, length } = list;
      for (let k = 0; k < length; k++) {
        const slot = slots[k];
        const v = values[k];
        if (stamp[slot] !== generation) {
          stamp[slot] = generation;
          partial[2 * slot] = weight * v;
          partial[2 * slot + 1] = v * v;
          touched[touchedCount++] = slot;
        } else {
          partial[2 * slot] += weight * v;
          partial[2 * slot + 1] += v * v;
        }
      }
    }
    return touchedCount;
  }
}

/** Adds one dimension's postings, weighted by the question's component, to every slot's sums. */
function addPostings(list: Postings, weight: number, partial: Float64Array): void {
  const { slots, values, length } = list;
  for (let k = 0; k < length; k++) {
    const slot = slots[k];
    const v = values[k];
    partial[2 * slot] += weight * v;
    partial[2 * slot + 1] += v * v;
  }
}
