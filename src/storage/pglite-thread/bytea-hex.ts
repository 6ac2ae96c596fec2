import type { ParserOptions, SerializerOptions } from '@electric-sql/pglite';
import { types } from '@electric-sql/pglite';

/**
 * PGlite's own bytea conversions build one string per byte (and parse one `parseInt` per byte),
 * which made hex-encoding the cache's vectors and ciphertexts a third of the database thread's
 * work on a cache miss. These give the same text and the same bytes through Buffer's hex codec.
 */

/** `\x` and two lowercase hex digits per byte, as PGlite's serializer writes it. */
function serializeBytea(value: unknown): string {
  if (!(value instanceof Uint8Array)) throw new Error('Invalid input for bytea type');
  return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
}

/** PostgreSQL's hex output (`\x…`) as a Uint8Array of its own, as PGlite's parser returns it. */
function parseBytea(text: string): Uint8Array {
  const bytes = new Uint8Array((text.length - 2) >>> 1);
  Buffer.from(bytes.buffer).write(text.slice(2), 'hex');
  return bytes;
}

export const byteaSerializers: SerializerOptions = { [types.BYTEA]: serializeBytea };
export const byteaParsers: ParserOptions = { [types.BYTEA]: parseBytea };
