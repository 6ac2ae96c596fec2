import type { NewCacheEntry } from '../storage/queries/cache-entries.js';
import type { EntryCodec } from './entry-codec.js';
import { storedVector } from './vector-bytes.js';

/** An entry waiting for its durable write, in the clear (it is sealed when written). */
export interface PendingEntry {
  id: string;
  tenantId: string;
  scopeHash: string;
  exactHash: string;
  embedder: string | null;
  vector: Float32Array | null;
  /** The answer as JSON, as it is sealed. */
  completionJson: string;
  question: string | null;
  createdAt: number;
  expiresAt: number;
  /** The configured upstream that gave the answer. */
  provider: string | null;
}

/**
 * Seals queued entries into the rows the database keeps (answer and question encrypted with the
 * tenant's key, the vector as stored bytes); an entry of a forgotten tenant (no data key) is left out.
 */
export async function sealPending(
  codec: EntryCodec,
  writes: readonly PendingEntry[],
): Promise<NewCacheEntry[]> {
  // All at once: a sealing thread seals what it is given together, in one batch.
  const sealedAll = await Promise.all(
    writes.map((w) => codec.seal(w.tenantId, w.exactHash, w.completionJson, w.question)),
  );
  const rows: NewCacheEntry[] = [];
  for (const [i, w] of writes.entries()) {
    const sealed = sealedAll[i];
    if (!sealed) continue;
    rows.push({
      id: w.id,
      tenantId: w.tenantId,
      scopeHash: w.scopeHash,
      exactHash: w.exactHash,
      embedder: w.vector ? w.embedder : null,
      provider: w.provider,
      responseEnc: sealed.responseEnc,
      questionEnc: sealed.questionEnc,
      ...storedVector(w.vector),
      createdAt: new Date(w.createdAt),
      expiresAt: new Date(w.expiresAt),
      size: sealed.responseEnc.length + (sealed.questionEnc?.length ?? 0),
    });
  }
  return rows;
}
