import { randomBytes } from 'node:crypto';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { EntryCodec } from '../../src/cache/entry-codec.js';
import { vectorFromBytes, vectorToBytes } from '../../src/cache/vector-bytes.js';
import type { TenantKeys } from '../../src/crypto/tenant-keys.js';

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

describe('EntryCodec', () => {
  const codec = new EntryCodec(keysFor({ t1: randomBytes(32), t2: randomBytes(32), gone: null }));

  it('seals answer and question without plaintext and opens them again', async () => {
    const sealed = await codec.seal('t1', 'hash-a', answer, 'SECRET-QUESTION-12');
    if (!sealed?.questionEnc) throw new Error('expected both fields sealed');
    for (const bytes of [sealed.responseEnc, sealed.questionEnc]) {
      expect(bytes.toString('latin1')).not.toContain('SECRET');
    }
    expect(await codec.openResponse('t1', 'hash-a', sealed.responseEnc)).toEqual(answer);
    expect(await codec.openQuestion('t1', 'hash-a', sealed.questionEnc)).toBe('SECRET-QUESTION-12');
  });

  it('refuses a ciphertext moved to another question, tenant or field', async () => {
    const sealed = await codec.seal('t1', 'hash-a', answer, 'q');
    if (!sealed?.questionEnc) throw new Error('expected both fields sealed');
    expect(await codec.openResponse('t1', 'hash-b', sealed.responseEnc)).toBeNull();
    expect(await codec.openResponse('t2', 'hash-a', sealed.responseEnc)).toBeNull();
    expect(await codec.openQuestion('t1', 'hash-a', sealed.responseEnc)).toBeNull();
  });

  it('seals nothing for a forgotten tenant', async () => {
    expect(await codec.canSeal('gone')).toBe(false);
    expect(await codec.seal('gone', 'hash-a', answer, null)).toBeNull();
  });
});

describe('vector bytes', () => {
  it('stores Float32 little-endian and reads back the same vector', () => {
    const bytes = vectorToBytes(Float32Array.of(1, -0.5, 0.25));
    expect([...bytes.subarray(0, 4)]).toEqual([0x00, 0x00, 0x80, 0x3f]);
    expect([...vectorFromBytes(bytes)]).toEqual([1, -0.5, 0.25]);
    expect(() => vectorFromBytes(new Uint8Array(6))).toThrow(RangeError);
  });
});
