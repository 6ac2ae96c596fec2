import { randomFillSync } from 'node:crypto';

/**
 * Random bytes drawn from the system's generator a few kilobytes at a time: each call into it
 * costs microseconds whatever the length, and the hot path wants a dozen bytes per request
 * (an id, an IV). Every byte of the pool is handed out once; each thread has its own pool.
 */
const POOL_BYTES = 4096;
/** Longer requests go straight to the generator. */
const MAX_POOLED_BYTES = 256;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/** Writes `length` fresh random bytes into `target` from `at`. */
export function fillRandom(target: Uint8Array, at: number, length: number): void {
  if (length > MAX_POOLED_BYTES) {
    randomFillSync(target, at, length);
    return;
  }
  if (offset + length > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  pool.copy(target, at, offset, offset + length);
  offset += length;
}

/** A new buffer of `length` fresh random bytes. */
export function randomBuffer(length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  fillRandom(bytes, 0, length);
  return bytes;
}
