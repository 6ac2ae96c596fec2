import { fillRandom } from './random-pool.js';

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** The random part of one id (74 of its bits), refilled on every call. */
const random = Buffer.allocUnsafe(10);

/** A time-ordered UUID (RFC 9562 version 7) for request and row ids. */
export function uuidv7(nowMs: number = Date.now()): string {
  fillRandom(random, 0, 10);
  const b = new Array<number>(16);
  let ts = nowMs;
  for (let i = 5; i >= 0; i--) {
    b[i] = ts % 256;
    ts = Math.floor(ts / 256);
  }
  for (let i = 6; i < 16; i++) b[i] = random[i - 6] ?? 0;
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x70;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  let out = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) out += '-';
    out += HEX[b[i] ?? 0];
  }
  return out;
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
