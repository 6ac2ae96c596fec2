import { describe, expect, it } from 'vitest';
import { isUuid, uuidv7 } from '../../src/runtime/uuidv7.js';

describe('uuidv7', () => {
  it('is a version 7 RFC 9562 UUID carrying its millisecond timestamp', () => {
    const now = Date.parse('2026-11-22T10:00:00.123Z');
    const id = uuidv7(now);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(now);
    expect(isUuid(id)).toBe(true);
  });

  it('sorts by time and never repeats', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => uuidv7(1_700_000_000_000 + i));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
