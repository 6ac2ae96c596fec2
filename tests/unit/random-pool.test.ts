import { describe, expect, it } from 'vitest';
import { fillRandom, randomBuffer } from '../../src/runtime/random-pool.js';

describe('random pool', () => {
  it('hands out fresh bytes on every call, across refills of the pool', () => {
    // 2,000 IVs of 12 bytes: the 4 KiB pool is refilled several times on the way.
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) seen.add(randomBuffer(12).toString('hex'));
    expect(seen.size).toBe(2000);
  });

  it('writes only the bytes asked for, short or long', () => {
    for (const length of [1, 12, 256, 257, 5000]) {
      const target = Buffer.alloc(length + 8, 0xaa);
      fillRandom(target, 4, length);
      expect(target.subarray(0, 4).every((b) => b === 0xaa)).toBe(true);
      expect(target.subarray(4 + length).every((b) => b === 0xaa)).toBe(true);
      // Random bytes: a run of 32 or more all equal to the filler would be a 1 in 2^256 event.
      if (length >= 32) expect(target.subarray(4, 4 + length).every((b) => b === 0xaa)).toBe(false);
    }
  });

  it('never gives two callers the same bytes', () => {
    const a = Buffer.alloc(100);
    const b = Buffer.alloc(100);
    fillRandom(a, 0, 100);
    fillRandom(b, 0, 100);
    expect(a.equals(b)).toBe(false);
  });
});
