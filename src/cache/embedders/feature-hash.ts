/**
 * 32-bit FNV-1a of a string's UTF-16 code units from a chosen seed, finished with the murmur3
 * mixer so that the low bits (the bucket) and the top bit (the sign) are both well spread.
 * Different seeds give independent hashes for different kinds of feature.
 */
export function featureHash(text: string, seed: number): number {
  return featureHashRange(text, 0, text.length, seed);
}

/** `featureHash` of `text.slice(start, end)` without allocating the slice. */
export function featureHashRange(text: string, start: number, end: number, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = start; i < end; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** The murmur3 32-bit finaliser. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Adds `weight` to the bucket the hash selects, with a sign from the hash's top bit, so that
 * colliding features cancel out on average instead of piling up (signed feature hashing).
 * `dimensions` must be a power of two.
 */
export function addHashed(vector: Float32Array, hash: number, weight: number): void {
  const index = hash & (vector.length - 1);
  vector[index] += hash & 0x80000000 ? -weight : weight;
}
