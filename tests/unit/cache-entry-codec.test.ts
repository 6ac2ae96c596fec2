import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { afterAll, describe, expect, it } from 'vitest';
import { EntryCodec } from '../../src/cache/entry-codec.js';
import {
  sparseVectorToBytes,
  storedVector,
  vectorFromBytes,
  vectorFromSparseBytes,
  vectorOfRow,
  vectorToBytes,
} from '../../src/cache/vector-bytes.js';
import type { TenantKeys } from '../../src/crypto/tenant-keys.js';
import { createInlineRowSealer, createThreadRowSealer } from '../../src/recording/row-sealer.js';
import { createLogger } from '../../src/runtime/logger.js';

/** Tenant keys held in a map: a forgotten tenant is one without a key. */
function keysFor(tenants: Record<string, Buffer | null>): TenantKeys {
  return {
    forEncryption: async (id) => tenants[id] ?? null,
    forDecryption: async (id) => tenants[id] ?? null,
    evict: () => {},
  };
}

const answer = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content: 'SECRET-ANSWER-77' } }],
} as unknown as ChatCompletion;

const threadSealer = createThreadRowSealer({ logger: createLogger('silent') });
afterAll(() => threadSealer.close());

describe.each([
  ['here', undefined],
  ['by a row sealer', createInlineRowSealer()],
  ['on the sealing thread', threadSealer],
])('EntryCodec sealing %s', (_, sealer) => {
  const tenantKeys = keysFor({ t1: randomBytes(32), t2: randomBytes(32), gone: null });
  const codec = new EntryCodec(tenantKeys, sealer);
  // Entries sealed one way are opened by any instance, whichever way it seals.
  const opener = new EntryCodec(tenantKeys);

  it('seals answer and question without plaintext and opens them again', async () => {
    const sealed = await codec.seal('t1', 'hash-a', JSON.stringify(answer), 'SECRET-QUESTION-12');
    if (!sealed?.questionEnc) throw new Error('expected both fields sealed');
    for (const bytes of [sealed.responseEnc, sealed.questionEnc]) {
      expect(bytes.toString('latin1')).not.toContain('SECRET');
    }
    expect(await opener.openResponse('t1', 'hash-a', sealed.responseEnc)).toEqual(answer);
    expect(await opener.openQuestion('t1', 'hash-a', sealed.questionEnc)).toBe(
      'SECRET-QUESTION-12',
    );
  });

  it('refuses a ciphertext moved to another question, tenant or field', async () => {
    const sealed = await codec.seal('t1', 'hash-a', JSON.stringify(answer), 'q');
    if (!sealed?.questionEnc) throw new Error('expected both fields sealed');
    expect(await opener.openResponse('t1', 'hash-b', sealed.responseEnc)).toBeNull();
    expect(await opener.openResponse('t2', 'hash-a', sealed.responseEnc)).toBeNull();
    expect(await opener.openQuestion('t1', 'hash-a', sealed.responseEnc)).toBeNull();
    expect(await opener.openResponse('t1', 'hash-a', sealed.questionEnc)).toBeNull();
  });

  it('seals nothing for a forgotten tenant', async () => {
    expect(await codec.canSeal('gone')).toBe(false);
    expect(await codec.seal('gone', 'hash-a', JSON.stringify(answer), null)).toBeNull();
  });
});

describe('vector bytes', () => {
  it('stores Float32 little-endian and reads back the same vector', () => {
    const bytes = vectorToBytes(Float32Array.of(1, -0.5, 0.25));
    expect([...bytes.subarray(0, 4)]).toEqual([0x00, 0x00, 0x80, 0x3f]);
    expect([...vectorFromBytes(bytes)]).toEqual([1, -0.5, 0.25]);
    expect(() => vectorFromBytes(new Uint8Array(6))).toThrow(RangeError);
  });

  it('stores a mostly-zero vector as its nonzero components and reads back the same vector', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.array(fc.tuple(fc.nat(), fc.float({ noNaN: true, noDefaultInfinity: true })), {
          maxLength: 80,
        }),
        (dimensions, components) => {
          const vector = new Float32Array(dimensions);
          // -0 is a zero like any other: the sparse form leaves it out and reads back 0.
          for (const [index, value] of components) vector[index % dimensions] = value || 0;
          const sparse = sparseVectorToBytes(vector);
          expect([...vectorFromSparseBytes(sparse)]).toEqual([...vector]);
          const stored = storedVector(vector);
          // Exactly one column, the smaller form, and the row reads back as the same vector.
          expect((stored.embeddingF32 === null) !== (stored.embeddingSparse === null)).toBe(true);
          const smaller = Math.min(sparse.length, vector.length * 4);
          expect((stored.embeddingF32 ?? stored.embeddingSparse)?.length).toBe(smaller);
          expect([...(vectorOfRow(stored) ?? [])]).toEqual([...vector]);
        },
      ),
    );
  });

  it('picks the sparse column for a local-embedder-like vector, a quarter of the dense size', () => {
    const vector = new Float32Array(512);
    for (let i = 0; i < 60; i++) vector[(i * 37) % 512] = 0.1 * (i + 1);
    const stored = storedVector(vector);
    expect(stored.embeddingF32).toBeNull();
    expect(stored.embeddingSparse?.length).toBe(4 + 60 * 8);
    expect(vectorOfRow({ embeddingF32: null, embeddingSparse: null })).toBeNull();
  });

  it('refuses sparse bytes that are not a vector: torn, out of range, out of order', () => {
    const vector = new Float32Array(8);
    vector[2] = 1;
    vector[5] = -2;
    const bytes = sparseVectorToBytes(vector);
    expect(() => vectorFromSparseBytes(bytes.subarray(0, bytes.length - 3))).toThrow(RangeError);
    const outOfRange = Buffer.from(bytes);
    outOfRange.writeUInt32LE(8, 12);
    expect(() => vectorFromSparseBytes(outOfRange)).toThrow(RangeError);
    const swapped = Buffer.from(bytes);
    swapped.writeUInt32LE(5, 4);
    swapped.writeUInt32LE(2, 12);
    expect(() => vectorFromSparseBytes(swapped)).toThrow(RangeError);
  });
});
