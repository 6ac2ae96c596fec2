/**
 * Cosine similarity of two vectors of equal length, in [-1, 1]; 0 when either is all zeros.
 * Embedders here return L2-normalised vectors, for which this equals the dot product.
 */
export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) {
    throw new RangeError(`cosineSimilarity: lengths differ (${a.length} vs ${b.length})`);
  }
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  if (normA === 0 || normB === 0) return 0;
  const cos = dot / Math.sqrt(normA * normB);
  return Math.max(-1, Math.min(1, cos));
}

/** Scales a vector in place to unit length (a zero vector stays zero) and returns it. */
export function l2NormaliseInPlace(vector: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) {
    const x = vector[i];
    sum += x * x;
  }
  if (sum === 0) return vector;
  const scale = 1 / Math.sqrt(sum);
  for (let i = 0; i < vector.length; i++) vector[i] *= scale;
  return vector;
}

/** How many components of a vector are not zero. */
export function nonZeros(vector: Float32Array, from = 0): number {
  let n = 0;
  for (let i = from; i < vector.length; i++) if (vector[i] !== 0) n++;
  return n;
}
