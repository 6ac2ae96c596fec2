import { types } from '@electric-sql/pglite';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byteaParsers, byteaSerializers } from '../../src/storage/pglite-thread/bytea-hex.js';

const serialize = byteaSerializers[types.BYTEA];
const parse = byteaParsers[types.BYTEA];

describe('bytea hex codec of the database thread', () => {
  it("writes the text PGlite's own serializer writes, for whole arrays and views into larger ones", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(20), fc.nat(20), (bytes, cut, end) => {
        const view = bytes.subarray(Math.min(cut, bytes.length), Math.max(cut, bytes.length - end));
        expect(serialize?.(view)).toBe(types.serializers[types.BYTEA]?.(view));
        expect(serialize?.(Buffer.from(bytes))).toBe(types.serializers[types.BYTEA]?.(bytes));
      }),
    );
  });

  it("reads back the bytes PGlite's own parser reads, each in an array of its own", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        const text = types.serializers[types.BYTEA]?.(bytes) ?? '';
        const parsed = parse?.(text) as Uint8Array;
        expect(parsed).toEqual(types.parsers[types.BYTEA]?.(text));
        expect(parsed.byteOffset).toBe(0);
        expect(parsed.buffer.byteLength).toBe(bytes.length);
      }),
    );
  });

  it('refuses what is not bytes, as PGlite does', () => {
    expect(() => serialize?.('\\x00')).toThrow('Invalid input for bytea type');
  });
});
