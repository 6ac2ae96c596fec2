import { copyTableOf, encodeCopy, UnstorableRowError } from '../binary-copy.js';
import type { NewInteraction } from '../schema.js';
import { interactions } from '../schema.js';

/** Interaction rows in binary COPY format (see binary-copy.ts): the writer's batches to PGlite. */
const INTERACTIONS_COPY = copyTableOf<NewInteraction>(interactions, {
  rowName: 'interaction',
  idOf: (row) => String(row.id),
});

/** The statement that loads an encoded batch into PGlite (the batch is its `/dev/blob`). */
export const COPY_INTERACTIONS_FROM_BLOB = INTERACTIONS_COPY.fromBlob;

export { UnstorableRowError };

/** Encodes interaction rows for COPY; throws UnstorableRowError for a value its column cannot hold. */
export function encodeInteractionsCopy(rows: readonly NewInteraction[]): Uint8Array<ArrayBuffer> {
  return encodeCopy(INTERACTIONS_COPY, rows);
}
