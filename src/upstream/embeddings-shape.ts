import { isRecord } from '../runtime/is-record.js';

/**
 * True when an upstream's parsed 200 body is an embeddings list as far as the gateway reads one:
 * an object whose `data` is an array of objects, each with an `embedding` that is an array (floats)
 * or a string (base64). Any other body (an HTML page read as text, `{"error":…}`, `[]`) is not an
 * answer to relay, cache or record as one.
 */
export function isEmbeddingsList(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value)) return false;
  const { data } = value;
  if (!Array.isArray(data)) return false;
  for (const item of data) {
    if (!isRecord(item)) return false;
    if (!Array.isArray(item.embedding) && typeof item.embedding !== 'string') return false;
  }
  return true;
}
