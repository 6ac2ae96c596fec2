import { describe, expect, it } from 'vitest';
import {
  createMonotonicUuidv7,
  isUuid,
  monotonicUuidv7,
  uuidv7,
} from '../../src/runtime/uuidv7.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timestampOf = (id: string) => Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('uuidv7', () => {
  it('is a version 7 RFC 9562 UUID carrying its millisecond timestamp', () => {
    const now = Date.parse('2026-11-22T10:00:00.123Z');
    const id = uuidv7(now);
    expect(id).toMatch(V7);
    expect(timestampOf(id)).toBe(now);
    expect(isUuid(id)).toBe(true);
  });

  it('sorts as text in the order of its timestamps, across every byte of the timestamp', () => {
    // Timestamps that differ in each of the six bytes, given out of order.
    const times = [
      0,
      1,
      255,
      256,
      65_535,
      65_536,
      2 ** 24,
      2 ** 32 + 7,
      2 ** 40 + 3,
      1_700_000_000_000,
      2 ** 48 - 1,
    ];
    const shuffled = [...times].reverse();
    const ids = shuffled.map((t) => uuidv7(t));
    const sorted = [...ids].sort();
    expect(sorted.map(timestampOf)).toEqual(times);
    for (const id of ids) expect(id, id).toMatch(V7);
  });

  it('gives ids made in the same millisecond distinct random bits', () => {
    // More ids than one refill of the random pool, so a reused or unrefreshed pool shows.
    const now = 1_700_000_000_000;
    const ids = Array.from({ length: 5000 }, () => uuidv7(now));
    expect(new Set(ids).size).toBe(ids.length);
    const randomParts = new Set(ids.map((id) => id.replace(/-/g, '').slice(13)));
    expect(randomParts.size).toBe(ids.length);
    for (const id of ids.slice(0, 50)) expect(timestampOf(id)).toBe(now);
  });

  it('accepts a client UUID of any version and refuses other text', () => {
    expect(isUuid('0192F3A4-5B6C-4D8E-9F00-112233445566')).toBe(true);
    expect(isUuid('not-a-uuid')).toBe(false);
    expect(isUuid(`${uuidv7()}x`)).toBe(false);
  });

  it('makes monotonic ids that sort in the order they were made, however the clock moves', () => {
    const now = 1_800_000_000_000;
    // A clock standing still (as in tests), then stepping back, then forward.
    const times = [...Array.from({ length: 5000 }, () => now), now - 10, now + 5];
    // A generator of its own: the process's one has seen whatever clocks other tests used.
    const next = createMonotonicUuidv7();
    const ids = times.map((t) => next(t));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id, id).toMatch(V7);
    expect(timestampOf(ids[0] ?? '')).toBe(now);
  });

  it("gives the process's ids in the order they were made", () => {
    const ids = Array.from({ length: 100 }, () => monotonicUuidv7());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
