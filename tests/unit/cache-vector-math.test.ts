import { describe, expect, it } from 'vitest';
import { cosineSimilarity, l2NormaliseInPlace } from '../../src/cache/vector-math.js';

const v = (...xs: number[]) => Float32Array.from(xs);

describe('cosineSimilarity', () => {
  it('is 1 for vectors pointing the same way, whatever their length', () => {
    expect(cosineSimilarity(v(1, 2, 3), v(2, 4, 6))).toBeCloseTo(1, 6);
  });

  it('is 0 for orthogonal vectors and -1 for opposite ones', () => {
    expect(cosineSimilarity(v(1, 0), v(0, 1))).toBe(0);
    expect(cosineSimilarity(v(1, 2), v(-1, -2))).toBeCloseTo(-1, 6);
  });

  it('is 0 when either vector is all zeros, so an empty text never matches', () => {
    expect(cosineSimilarity(v(0, 0, 0), v(1, 2, 3))).toBe(0);
  });

  it('rejects vectors of different lengths', () => {
    expect(() => cosineSimilarity(v(1, 2), v(1, 2, 3))).toThrow(RangeError);
  });
});

describe('l2NormaliseInPlace', () => {
  it('scales a vector to unit length in place', () => {
    const vector = v(3, 4);
    expect(l2NormaliseInPlace(vector)).toBe(vector);
    expect([...vector]).toEqual([0.6000000238418579, 0.800000011920929]);
  });

  it('leaves a zero vector at zero instead of dividing by zero', () => {
    expect([...l2NormaliseInPlace(v(0, 0))]).toEqual([0, 0]);
  });
});
