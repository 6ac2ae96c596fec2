import { parseIsoTime } from '../runtime/iso-time.js';
import { isUuid } from '../runtime/uuidv7.js';
import type { InteractionPosition } from '../storage/queries/analytics-interactions.js';

/** Encodes where a page ended as an opaque, URL-safe cursor. */
export function encodeCursor(position: InteractionPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id]), 'utf8').toString(
    'base64url',
  );
}

/** Decodes a cursor from encodeCursor; null when it is not one. */
export function decodeCursor(cursor: string): InteractionPosition | null {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 2) return null;
  const [createdAt, id] = value as unknown[];
  if (typeof createdAt !== 'string' || parseIsoTime(createdAt) === null) return null;
  if (typeof id !== 'string' || !isUuid(id)) return null;
  return { createdAt, id };
}
