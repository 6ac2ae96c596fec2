import { describe, expect, it } from 'vitest';
import { blendVectors } from '../../src/cache/embedders/blend.js';
import { createLocalEmbedder } from '../../src/cache/embedders/local-embedder.js';
import { cosineSimilarity } from '../../src/cache/vector-math.js';

const local = createLocalEmbedder();
const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);

describe('blendVectors', () => {
  // Two "model" vectors and two lexical ones, all of unit length.
  const modelA = local.embedSync('How do I change my email password?');
  const modelB = local.embedSync('How can I change the password of my email account?');
  const lexicalA = local.embedSync('password email change');
  const lexicalB = local.embedSync('email account password');

  it('gives unit vectors whose dot product is the weighted mean of the two cosines', () => {
    for (const w of [0, 0.3, 0.5, 1]) {
      const a = blendVectors(modelA, lexicalA, w);
      const b = blendVectors(modelB, lexicalB, w);
      expect(a).toHaveLength(modelA.length + lexicalA.length);
      expect(dot(a, a)).toBeCloseTo(1, 5);
      expect(dot(a, b)).toBeCloseTo(
        (1 - w) * cosineSimilarity(modelA, modelB) + w * cosineSimilarity(lexicalA, lexicalB),
        5,
      );
    }
  });

  it('refuses a weight outside [0, 1]', () => {
    expect(() => blendVectors(modelA, lexicalA, 1.5)).toThrow(RangeError);
    expect(() => blendVectors(modelA, lexicalA, Number.NaN)).toThrow(RangeError);
  });
});
