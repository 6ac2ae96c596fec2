import { fillRandom } from './random-pool.js';

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** The id's 16 bytes and its 36 characters of text, reused by every call (the dashes stay put). */
const bytes = Buffer.alloc(16);
const text = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1');
/** Where each byte's two hex digits go in the text. */
const DIGITS_AT = Uint8Array.from([0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34]);

/**
 * A time-ordered UUID (RFC 9562 version 7) for request and row ids. Its text is written as bytes
 * and read as one flat string: no string built up piece by piece (which would leave a chain of
 * pieces to flatten when the id is hashed or compared).
 */
export function uuidv7(nowMs: number = Date.now()): string {
  let ts = nowMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ts % 256;
    ts = Math.floor(ts / 256);
  }
  fillRandom(bytes, 6, 10);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  for (let i = 0; i < 16; i++) {
    const b = bytes[i] ?? 0;
    const at = DIGITS_AT[i] ?? 0;
    text[at] = HEX_DIGITS[b >> 4] ?? 0;
    text[at + 1] = HEX_DIGITS[b & 15] ?? 0;
  }
  return text.toString('latin1');
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for any RFC 9562 UUID string (used to accept a client's own x-request-id). */
export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

/**
 * A generator of UUIDv7s that sort after every one it made before, even within one millisecond
 * or when the clock stands still or steps back (RFC 9562's method 1: a 12-bit counter in `rand_a`,
 * starting from a random value each new millisecond). Ids compared for recency need this.
 */
export function createMonotonicUuidv7(): (nowMs?: number) => string {
  let lastMs = -1;
  let sequence = 0;
  return (nowMs = Date.now()) => {
    let ms = Math.max(nowMs, lastMs);
    if (ms === lastMs) {
      sequence++;
      if (sequence > 0xfff) {
        ms++;
        sequence = 0;
      }
    } else {
      // Start low in the counter's range, so that many ids fit before it carries over.
      sequence = Math.floor(Math.random() * 0x400);
    }
    lastMs = ms;
    const id = uuidv7(ms);
    const randA = `7${sequence.toString(16).padStart(3, '0')}`;
    return `${id.slice(0, 14)}${randA}${id.slice(18)}`;
  };
}

/** The process's monotonic UUIDv7s: each sorts after every one this process made before. */
export const monotonicUuidv7: (nowMs?: number) => string = createMonotonicUuidv7();
