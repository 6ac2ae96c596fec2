/** A growable pair of (slot, value) arrays: one dimension's postings. */
export interface Postings {
  slots: Int32Array;
  values: Float32Array;
  length: number;
}

/** A search's heavy prefix: the first `count` of `dimensions`, and the length of the rest. */
export interface HeavyPrefix {
  dimensions: readonly number[];
  count: number;
  rest: number;
}

// Scratch of heavyPrefix, reused by every search (a search runs to its end without yielding).
const prefixDims: number[] = [];
let prefixGain = new Float64Array(0);
let prefixRestSq = new Float64Array(0);

/**
 * The question's dimensions from `from` on that weigh most per posting to read, taken until the
 * length of the rest (the dimensions before `from` included) is at most `maxRest`, or all of
 * them; and that length.
 */
export function heavyPrefix(
  query: Float32Array,
  from: number,
  maxRest: number,
  postings: readonly (Postings | null)[],
): HeavyPrefix {
  const dims = prefixDims;
  dims.length = 0;
  if (prefixGain.length < query.length) prefixGain = new Float64Array(query.length);
  const gain = prefixGain;
  let leadSq = 0;
  for (let i = 0; i < from; i++) leadSq += query[i] * query[i];
  for (let i = from; i < query.length; i++) {
    if (query[i] === 0) continue;
    dims.push(i);
    gain[i] = (query[i] * query[i]) / ((postings[i]?.length ?? 0) + 1);
  }
  sortByGain(dims, gain);
  // restSq[k]: squared length of the leading dimensions and of those from k on, summed lightest
  // first.
  if (prefixRestSq.length < dims.length + 1) prefixRestSq = new Float64Array(query.length + 1);
  const restSq = prefixRestSq;
  restSq[dims.length] = leadSq;
  for (let k = dims.length - 1; k >= 0; k--) {
    const x = query[dims[k]];
    restSq[k] = restSq[k + 1] + x * x;
  }
  let k = 0;
  const maxRestSq = maxRest * maxRest;
  while (k < dims.length && restSq[k] > maxRestSq) k++;
  return { dimensions: dims, count: k, rest: Math.sqrt(restSq[k]) };
}

/**
 * Sorts dimensions by gain, highest first, ties by index: by insertion, in place. A question has
 * tens of nonzero dimensions, and this allocates nothing, where the built-in sort with a
 * comparator allocates on every search.
 */
function sortByGain(dims: number[], gain: Float64Array): void {
  for (let i = 1; i < dims.length; i++) {
    const d = dims[i];
    const g = gain[d];
    let j = i - 1;
    while (j >= 0 && (gain[dims[j]] < g || (gain[dims[j]] === g && dims[j] > d))) {
      dims[j + 1] = dims[j];
      j--;
    }
    dims[j + 1] = d;
  }
}
