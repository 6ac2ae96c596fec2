/** Longest session id: a client's header, a conversation id or a response id all fit. */
export const MAX_SESSION_ID_CHARS = 128;
const SESSION_ID_RE = /^[A-Za-z0-9._:-]+$/;

/**
 * True for a session id as the interactions table keeps it and the analytics API takes it:
 * 1–128 characters of [A-Za-z0-9._:-].
 */
export function isSessionId(value: string): boolean {
  return value.length <= MAX_SESSION_ID_CHARS && SESSION_ID_RE.test(value);
}
