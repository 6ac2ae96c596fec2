import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VectorShelf } from '../../src/cache/vector-shelf.js';

/**
 * What a full scan answers: the earliest most similar accepted vector, if at least `min` (a
 * question or vector of length 0 or NaN finds or is found by nothing).
 */
function scanNearest(
  held: readonly { owner: number; vector: Float32Array }[],
  query: Float32Array,
  min: number,
  accept: (owner: number) => boolean,
): { owner: number; similarity: number } | null {
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
  const queryNorm = norm(query);
  if (queryNorm === 0 || !Number.isFinite(queryNorm)) return null;
  let best: { owner: number; dot: number; norm: number } | null = null;
  for (const { owner, vector } of held) {
    const n = norm(vector);
    // A vector of length 0 or NaN is never found.
    if (n === 0 || !Number.isFinite(n) || !accept(owner)) continue;
    let dot = 0;
    for (let i = 0; i < vector.length; i++) if (vector[i] !== 0) dot += vector[i] * query[i];
    if (best === null || dot * best.norm > best.dot * n) best = { owner, dot, norm: n };
  }
  if (best === null) return null;
  const similarity = Math.max(-1, Math.min(1, best.dot / (best.norm * queryNorm)));
  return similarity >= min ? { owner: best.owner, similarity } : null;
}

const DIMENSIONS = 64;

/**
 * Sparse vectors around a few topics, as hashed text features are: each a topic's components,
 * some of them dropped or reweighted, plus a few of its own; repeats and zero vectors included,
 * so near ties, exact ties and empty vectors all occur. With one topic and many vectors, most
 * vectors share most dimensions, as a scope of templated questions does.
 */
function vectorsArb(shape: { maxTopics: number; minVectors: number }) {
  return fc
    .array(
      fc.array(
        fc.record({
          dim: fc.nat(DIMENSIONS - 1),
          value: fc.double({ min: -1, max: 1, noNaN: true }),
        }),
        { minLength: 3, maxLength: 12 },
      ),
      { minLength: 1, maxLength: shape.maxTopics },
    )
    .chain((topics) =>
      fc
        .array(
          fc.record({
            topic: fc.nat(topics.length - 1),
            keep: fc.array(fc.double({ min: 0, max: 1.5, noNaN: true }), {
              minLength: 12,
              maxLength: 12,
            }),
            own: fc.array(
              fc.record({ dim: fc.nat(DIMENSIONS - 1), value: fc.double({ min: -0.5, max: 0.5 }) }),
              { maxLength: 4 },
            ),
            zero: fc.nat(19).map((n) => n === 0),
          }),
          { minLength: shape.minVectors, maxLength: 200, size: 'max' },
        )
        .map((specs) =>
          specs.map(({ topic, keep, own, zero }) => {
            const vector = new Float32Array(DIMENSIONS);
            if (zero) return vector;
            (topics[topic] ?? []).forEach(({ dim, value }, i) => {
              const k = keep[i] ?? 1;
              if (k > 0.2) vector[dim] += value * k;
            });
            for (const { dim, value } of own) vector[dim] += value;
            return vector;
          }),
        ),
    );
}

/** Leading components of the blended vectors below: a dense model's part. */
const LEAD = 12;

/**
 * Vectors as a blend of a dense model's vector and hashed text features makes them: `LEAD`
 * leading components (nonzero but for an exact zero now and then, weighted so that the sparse
 * part decides most scores, as the blend's 0.7 and 0.3 do for unit vectors), then a vector of
 * `vectorsArb`. Zero vectors stay zero.
 */
function blendedArb(shape: { maxTopics: number; minVectors: number }) {
  return vectorsArb(shape).chain((sparse) =>
    fc
      .array(
        fc.array(fc.oneof(fc.constant(0), fc.double({ min: -0.4, max: 0.4, noNaN: true })), {
          minLength: LEAD,
          maxLength: LEAD,
        }),
        { minLength: sparse.length, maxLength: sparse.length },
      )
      .map((leads) =>
        sparse.map((tail, i) => {
          const vector = new Float32Array(LEAD + DIMENSIONS);
          if (tail.every((x) => x === 0)) return vector;
          vector.set(leads[i] ?? [], 0);
          vector.set(tail, LEAD);
          return vector;
        }),
      ),
  );
}

describe('VectorShelf', () => {
  it.each([
    ['a few topics', 'sparse', { maxTopics: 4, minVectors: 1 }],
    ['one topic shared by many vectors', 'sparse', { maxTopics: 1, minVectors: 80 }],
    ['a few topics', 'blended', { maxTopics: 4, minVectors: 1 }],
    ['one topic shared by many vectors', 'blended', { maxTopics: 1, minVectors: 80 }],
    ['a few topics', 'dense', { maxTopics: 4, minVectors: 1 }],
    ['one topic shared by many vectors', 'dense', { maxTopics: 1, minVectors: 80 }],
  ] as const)(
    'answers exactly as a full scan for every threshold, through adds, removals and refusals (%s, %s vectors)',
    (_, layout, shape) => {
      fc.assert(
        fc.property(
          layout === 'sparse' ? vectorsArb(shape) : blendedArb(shape),
          fc.array(fc.nat(), { maxLength: 150, size: 'max' }),
          fc.array(fc.double({ min: 0.05, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }),
          fc.nat(7),
          (vectors, removals, thresholds, refuseEvery) => {
            // Blended: the leading part dense, the rest indexed. Dense: every row dense, scanned.
            const shelf =
              layout === 'sparse'
                ? new VectorShelf<number>(DIMENSIONS)
                : new VectorShelf<number>(
                    LEAD + DIMENSIONS,
                    layout === 'blended' ? LEAD : LEAD + DIMENSIONS,
                  );
            const held: { owner: number; vector: Float32Array }[] = [];
            vectors.forEach((vector, owner) => {
              shelf.add(owner, vector);
              held.push({ owner, vector });
            });
            for (const r of removals) {
              if (held.length === 0) break;
              const [gone] = held.splice(r % held.length, 1);
              if (gone) shelf.remove(gone.owner);
            }
            expect(shelf.size).toBe(held.length);
            // Some entries refused (expired or too old), as the cache's own filter does.
            const accept = (owner: number) => refuseEvery === 0 || owner % (refuseEvery + 2) !== 0;
            const queries = [...vectors.slice(0, 6), ...held.slice(-3).map((h) => h.vector)];
            for (const query of queries) {
              // Thresholds exactly at the similarity of some held vectors, where a loose bound
              // would drop the one vector that reaches it.
              const exact = held
                .filter((_, i) => i % 7 === 3)
                .map((h) => scanNearest([h], query, Number.NEGATIVE_INFINITY, () => true))
                .filter((n) => n !== null && n.similarity > 0)
                .map((n) => n?.similarity ?? 1);
              for (const min of [Number.NEGATIVE_INFINITY, ...thresholds, ...exact]) {
                expect(shelf.nearest(query, min, accept)).toEqual(
                  scanNearest(held, query, min, accept),
                );
              }
            }
          },
        ),
        { numRuns: 150 },
      );
    },
  );

  it.each([
    ['most vectors share its dimensions', 70],
    ['few vectors share its dimensions', 2],
  ])(
    'finds the copy of a question spread over many dimensions, just above the threshold (%s)',
    (_, sharing) => {
      // Most of the question's length lies outside the dimensions the search reads first, so its
      // copy passes only through the exact bound on what lies outside them.
      const dimensions = 128;
      const question = new Float32Array(dimensions);
      for (let d = 0; d < 60; d++) question[d] = 1 + (d % 7) / 10;
      const shelf = new VectorShelf<string>(dimensions);
      for (let i = 0; i < 200; i++) {
        const filler = new Float32Array(dimensions);
        filler[60 + (i % 68)] = 1;
        // A share of the fillers holds a few of the question's dimensions too.
        if (i % 100 < sharing) for (let d = i % 3; d < 60; d += 3) filler[d] = 0.2;
        shelf.add(`filler-${i}`, filler);
      }
      shelf.add('copy', question.slice());
      // Twice: nothing one search leaves behind may change the next one's answer.
      for (let round = 0; round < 2; round++) {
        const found = shelf.nearest(question, 0.9999, () => true);
        expect(found?.owner).toBe('copy');
        expect(found?.similarity).toBeCloseTo(1, 6);
      }
    },
  );

  it('holds leading dimensions densely and finds neighbours by the others', () => {
    // Every vector shares the same dense part; only the sparse part tells them apart.
    const shelf = new VectorShelf<string>(8, 4);
    const vector = (a: number, b: number) => Float32Array.of(0.5, 0.5, 0.5, 0.5, a, b, 0, 0);
    for (let i = 0; i < 100; i++) shelf.add(`filler-${i}`, vector(0, 0.1 + i / 100));
    shelf.add('near', vector(1, 0));
    const found = shelf.nearest(vector(1, 0.01), 0.99, () => true);
    expect(found?.owner).toBe('near');
    expect(found?.similarity).toBeCloseTo(1, 3);
    expect(shelf.nearest(vector(1, 0.01), 0.99, (owner) => owner !== 'near')).toBeNull();
    expect(() => new VectorShelf(8, 9)).toThrow(RangeError);
    expect(() => new VectorShelf(8, 1.5)).toThrow(RangeError);
  });

  it('keeps the earliest of equally similar vectors, with and without a threshold', () => {
    const shelf = new VectorShelf<string>(4);
    for (let i = 0; i < 100; i++) shelf.add(`filler-${i}`, Float32Array.of(0, 0, 1, 0));
    shelf.add('first', Float32Array.of(1, 0, 0, 0));
    shelf.add('second', Float32Array.of(2, 0, 0, 0));
    const query = Float32Array.of(1, 0, 0, 0);
    expect(shelf.nearest(query, 0.9, () => true)).toEqual({ owner: 'first', similarity: 1 });
    expect(shelf.nearest(query, Number.NEGATIVE_INFINITY, () => true)?.owner).toBe('first');
    shelf.remove('first');
    expect(shelf.nearest(query, 0.9, () => true)?.owner).toBe('second');
  });

  it('finds nothing at or above a threshold no vector reaches, and nothing refused', () => {
    const shelf = new VectorShelf<string>(4);
    for (let i = 0; i < 80; i++) shelf.add(`v${i}`, Float32Array.of(1, 1, 0, 0));
    const query = Float32Array.of(1, 0, 0, 0);
    expect(shelf.nearest(query, 0.8, () => true)).toBeNull();
    expect(shelf.nearest(query, 0.7, () => true)?.owner).toBe('v0');
    expect(shelf.nearest(query, 0.7, (owner) => owner !== 'v0')?.owner).toBe('v1');
    expect(shelf.nearest(query, 0.7, () => false)).toBeNull();
  });

  it('compacts removed vectors away and keeps answering in the order they were added', () => {
    const shelf = new VectorShelf<number>(8);
    for (let i = 0; i < 300; i++) {
      const v = new Float32Array(8);
      v[i % 8] = 1;
      v[(i + 3) % 8] = 0.5;
      shelf.add(i, v);
    }
    for (let i = 0; i < 280; i++) shelf.remove(i);
    expect(shelf.size).toBe(20);
    const query = new Float32Array(8);
    query[5] = 1;
    query[0] = 0.5;
    // 285 = 5 (mod 8): the earliest live vector equal to the query.
    const found = shelf.nearest(query, 0.99, () => true);
    expect(found?.owner).toBe(285);
    expect(found?.similarity).toBeCloseTo(1, 12);
  });
});
