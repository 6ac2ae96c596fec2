import { parseIsoTime } from '../runtime/iso-time.js';
import { isUuid } from '../runtime/uuidv7.js';
import type { InteractionPosition } from '../storage/queries/analytics-interactions.js';
import type { SessionPosition } from '../storage/queries/analytics-sessions.js';
import { isSessionId } from '../storage/session-id.js';

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

/**
 * Where a page of sessions ended, and the first page's latest activity: later pages read the
 * interactions up to it only, so a session that becomes active while a client pages does not jump
 * above the position and get skipped.
 */
export type SessionCursor = SessionPosition & { asOf: string };

/** Encodes where a page of sessions ended as an opaque, URL-safe cursor. */
export function encodeSessionCursor(cursor: SessionCursor): string {
  const value = [cursor.lastAt, cursor.tenantId, cursor.sessionId, cursor.asOf];
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Decodes a cursor from encodeSessionCursor; null when it is not one. */
export function decodeSessionCursor(cursor: string): SessionCursor | null {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 4) return null;
  const [lastAt, tenantId, sessionId, asOf] = value as unknown[];
  if (typeof lastAt !== 'string' || parseIsoTime(lastAt) === null) return null;
  if (typeof tenantId !== 'string' || !isSessionId(tenantId)) return null;
  if (typeof sessionId !== 'string' || !isSessionId(sessionId)) return null;
  if (typeof asOf !== 'string' || parseIsoTime(asOf) === null) return null;
  return { lastAt, tenantId, sessionId, asOf };
}
