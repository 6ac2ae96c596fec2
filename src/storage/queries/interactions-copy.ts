import type { CopyStatements } from '../binary-copy.js';
import { copyTableOf, encodeCopy, UnstorableRowError } from '../binary-copy.js';
import type { NewInteraction } from '../schema.js';
import { interactions } from '../schema.js';

/** Interaction rows in binary COPY format (see binary-copy.ts): the writer's batches. */
const INTERACTIONS_COPY = copyTableOf<NewInteraction>(interactions, {
  rowName: 'interaction',
  idOf: (row) => String(row.id),
});

/** The statements that load an encoded batch (PGlite's from its `/dev/blob`, PostgreSQL's from the connection). */
export const COPY_INTERACTIONS: CopyStatements = INTERACTIONS_COPY;

export { UnstorableRowError };

/** Encodes interaction rows for COPY; throws UnstorableRowError for a value its column cannot hold. */
export function encodeInteractionsCopy(rows: readonly NewInteraction[]): Uint8Array<ArrayBuffer> {
  return encodeCopy(INTERACTIONS_COPY, rows);
}
