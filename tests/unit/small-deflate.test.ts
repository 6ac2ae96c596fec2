import { randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createSmallDeflate } from '../../src/crypto/row-compression.js';

describe('small deflate', () => {
  const inputs: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from('x')],
    [
      'a chat request',
      Buffer.from(
        JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'Say something about foxes. ✓ ünïcode 👩‍💻' }],
        }),
      ),
    ],
    ['random bytes at the limit', randomBytes(16 * 1024)],
    ['repetitive text at the limit', Buffer.from('abc'.repeat(16 * 1024).slice(0, 16 * 1024))],
    ['random bytes over the limit', randomBytes(16 * 1024 + 1)],
    ['a large prompt', Buffer.from('The quick brown fox jumps over the lazy dog. '.repeat(5000))],
  ];

  it('gives exactly what deflateRawSync gives, call after call, for every size', () => {
    const deflate = createSmallDeflate();
    // Twice through, interleaved: each call must start from a clean compressor.
    for (const _ of [1, 2]) {
      for (const [name, input] of inputs) {
        const out = deflate(input);
        expect(out.equals(deflateRawSync(input)), name).toBe(true);
        expect(inflateRawSync(out).equals(input), name).toBe(true);
      }
    }
  });

  it('returns buffers of its own, not views into a buffer it reuses', () => {
    const deflate = createSmallDeflate();
    const first = deflate(Buffer.from('first text, first text, first text'));
    const copy = Buffer.from(first);
    deflate(Buffer.from('a second, different text that would overwrite a shared buffer'));
    expect(first.equals(copy)).toBe(true);
  });
});
