import { nonZeros } from './vector-math.js';

/** A scan checks its bound part-way through dense rows of at least this many dimensions. */
const STAGED_FROM_DIMENSIONS = 16;

/**
 * The vectors of one shelf as flat typed arrays, one row per slot, in the order they were added.
 * The leading dimensions (`lead` of them: none for hashed text features, all for a dense model's
 * vectors, the model's part of a blended vector) are held as one dense row per slot; the others
 * as a row of their nonzero components (indices and values, CSR), which the shelf indexes by
 * dimension. Each row's length is kept, and for long dense rows its lengths past the scan's two
 * checkpoints (see `checkpoints`), so a scan can bound a row before reading all of it.
 */
export class ShelfRows {
  /** Leading dimensions held densely (null until the first vector when not given). */
  lead: number | null;
  /** Each slot's length (0 for a vector of length 0 or not finite: never found). */
  norms = new Float64Array(8);
  /** Dense rows of the leading dimensions: slot s holds [s·lead, (s + 1)·lead). */
  block = new Float32Array(0);
  /** Per slot s, its lengths past the two checkpoints at 2s and 2s + 1 (staged rows only). */
  tails = new Float64Array(0);
  /** Sparse rows of the other dimensions: slot s holds indices/values [starts[s], starts[s + 1]). */
  starts = new Int32Array(9);
  indices = new Int32Array(64);
  values = new Float32Array(64);

  /**
   * `lead`: how many leading dimensions every vector fills (held densely; the rest are mostly
   * zeros, held sparse). Unset: decided by the first vector, all of them when it is mostly
   * nonzero, none otherwise.
   */
  constructor(
    readonly dimensions: number,
    lead?: number,
  ) {
    if (lead !== undefined && !(Number.isInteger(lead) && lead >= 0 && lead <= dimensions)) {
      throw new RangeError(`${lead} leading dimensions in a shelf of ${dimensions}`);
    }
    this.lead = lead ?? null;
  }

  /** Slots the arrays have room for. */
  get capacity(): number {
    return this.norms.length;
  }

  /** Whether some dimensions are held sparse (and so can be indexed). */
  get hasSparse(): boolean {
    return (this.lead ?? 0) < this.dimensions;
  }

  /** Whether the dense rows are long enough for a scan to check their bound part-way. */
  get staged(): boolean {
    return (this.lead ?? 0) >= STAGED_FROM_DIMENSIONS;
  }

  /** Writes `vector` (of length `dimensions`) as the row of `slot`, the slot after the last. */
  append(slot: number, vector: Float32Array): void {
    this.lead ??= nonZeros(vector) * 2 > vector.length ? this.dimensions : 0;
    const lead = this.lead;
    if (this.norms.length < slot + 1) {
      const capacity = Math.max(slot + 1, this.norms.length * 2);
      this.norms = grow(this.norms, capacity);
      this.starts = grow(this.starts, capacity + 1);
    }
    let norm = 0;
    for (let i = 0; i < vector.length; i++) norm += vector[i] * vector[i];
    // A vector of length 0 or not finite (NaN or infinite components) is held but never found.
    const length = Math.sqrt(norm);
    this.norms[slot] = Number.isFinite(length) ? length : 0;
    if (lead > 0) {
      this.block = growTo(this.block, (slot + 1) * lead);
      this.block.set(vector.subarray(0, lead), slot * lead);
    }
    const start = this.starts[slot];
    const end = start + nonZeros(vector, lead);
    this.indices = growTo(this.indices, end);
    this.values = growTo(this.values, end);
    let k = start;
    for (let i = lead; i < vector.length; i++) {
      if (vector[i] === 0) continue;
      this.indices[k] = i;
      this.values[k++] = vector[i];
    }
    this.starts[slot + 1] = end;
    if (this.staged) {
      const [tail1, tail2] = lengthsPastCheckpoints(vector, lead);
      this.tails = growTo(this.tails, 2 * slot + 2);
      this.tails[2 * slot] = tail1;
      this.tails[2 * slot + 1] = tail2;
    }
  }

  /** The dot product of one slot's vector with the query, summed dimension by dimension, in order. */
  dot(slot: number, query: Float32Array): number {
    let dot = 0;
    const lead = this.lead ?? 0;
    if (lead > 0) {
      const { block } = this;
      const base = slot * lead;
      for (let i = 0; i < lead; i++) dot += block[base + i] * query[i];
    }
    const { indices, values } = this;
    const end = this.starts[slot + 1];
    for (let k = this.starts[slot]; k < end; k++) dot += values[k] * query[indices[k]];
    return dot;
  }

  /**
   * Moves the row of `slot` down to `target` (≤ slot), when every row before `target` is already
   * in place: compaction, in slot order, never overwrites a row not yet moved.
   */
  move(slot: number, target: number): void {
    const from = this.starts[slot];
    const to = this.starts[slot + 1];
    const used = this.starts[target];
    const lead = this.lead ?? 0;
    this.norms[target] = this.norms[slot];
    if (this.tails.length > 0) this.tails.copyWithin(2 * target, 2 * slot, 2 * slot + 2);
    if (lead > 0) this.block.copyWithin(target * lead, slot * lead, (slot + 1) * lead);
    this.indices.copyWithin(used, from, to);
    this.values.copyWithin(used, from, to);
    this.starts[target + 1] = used + (to - from);
  }
}

/** Where a scan looks at its bound in a dense row of `lead` dimensions: a quarter and half in. */
export function checkpoints(lead: number): [number, number] {
  return [lead >> 2, lead >> 1];
}

/** A vector's lengths past the two checkpoints, each summed over its own components. */
export function lengthsPastCheckpoints(vector: Float32Array, lead: number): [number, number] {
  const [first, second] = checkpoints(lead);
  let sq1 = 0;
  let sq2 = 0;
  for (let i = first; i < vector.length; i++) {
    const sq = vector[i] * vector[i];
    sq1 += sq;
    if (i >= second) sq2 += sq;
  }
  return [Math.sqrt(sq1), Math.sqrt(sq2)];
}

type Typed = Float64Array | Float32Array | Int32Array;

/** A copy of `array` with room for `capacity` elements. */
export function grow<A extends Typed>(array: A, capacity: number): A {
  const next = new (array.constructor as new (length: number) => A)(capacity);
  next.set(array);
  return next;
}

function growTo<A extends Typed>(array: A, length: number): A {
  return array.length >= length ? array : grow(array, Math.max(length, array.length * 2));
}
