import { isRecord } from '../runtime/is-record.js';

/**
 * How many vectors an embeddings request asks for: one per string or token array, so one for a
 * string or a single token array, else one per item of the list.
 */
export function vectorsAskedFor(input: unknown): number {
  if (!Array.isArray(input) || input.every((item) => typeof item === 'number')) return 1;
  return input.length;
}

/**
 * True when an upstream's parsed 200 body is an embeddings list as far as the gateway reads one:
 * an object whose `data` is an array of `vectors` objects, each with an `embedding` that is an
 * array (floats) or a string (base64). Any other body (an HTML page read as text, `{"error":…}`,
 * `[]`, a list with a vector too few or too many, which would pair texts with the wrong vectors)
 * is not an answer to relay, cache or record as one.
 */
export function isEmbeddingsList(
  value: unknown,
  vectors: number,
): value is Record<string, unknown> {
  if (!isRecord(value)) return false;
  const { data } = value;
  if (!Array.isArray(data) || data.length !== vectors) return false;
  for (const item of data) {
    if (!isRecord(item)) return false;
    if (!Array.isArray(item.embedding) && typeof item.embedding !== 'string') return false;
  }
  return true;
}
