import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { lightStem } from '../../src/cache/embedders/light-stem.js';
import {
  createLocalEmbedder,
  LOCAL_EMBEDDING_DIMENSIONS,
} from '../../src/cache/embedders/local-embedder.js';
import { DEFAULT_SEMANTIC_THRESHOLD } from '../../src/cache/semantic-decision.js';
import { cosineSimilarity } from '../../src/cache/vector-math.js';

const embedder = createLocalEmbedder();
const similarity = (a: string, b: string) =>
  cosineSimilarity(embedder.embedSync(a), embedder.embedSync(b));
const norm = (vector: Float32Array) => Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));

describe('local embedder', () => {
  it('names its version and dimension in its id', () => {
    expect(embedder.id).toBe(`local-v1-${LOCAL_EMBEDDING_DIMENSIONS}`);
    expect(embedder.dimensions).toBe(LOCAL_EMBEDDING_DIMENSIONS);
  });

  it('returns one unit-length vector of the fixed dimension per text', async () => {
    const vectors = await embedder.embed(['How do I reset my password?', 'Hi']);
    expect(vectors).toHaveLength(2);
    for (const vector of vectors) {
      expect(vector).toHaveLength(LOCAL_EMBEDDING_DIMENSIONS);
      expect(norm(vector)).toBeCloseTo(1, 5);
    }
  });

  it('is deterministic across calls and across instances', async () => {
    const text = 'What is the boiling point of water at 2,000 m?';
    const [fromAsync] = await createLocalEmbedder().embed([text]);
    expect(fromAsync).toEqual(embedder.embedSync(text));
    expect(embedder.embedSync(text)).toEqual(embedder.embedSync(text));
  });

  it('pins the vector so a change in the algorithm cannot go unnoticed', () => {
    // Stored vectors are only comparable with vectors from the same algorithm: a change
    // here must come with a new embedder id.
    const vector = embedder.embedSync('How do I reset my password?');
    const digest = createHash('sha256').update(new Uint8Array(vector.buffer)).digest('hex');
    expect(digest.slice(0, 16)).toBe('46c4cd90c54c1697');
  });

  it('gives empty and symbol-only texts a zero vector, which matches nothing', () => {
    const empty = embedder.embedSync('');
    expect(norm(empty)).toBe(0);
    expect(norm(embedder.embedSync('?!…'))).toBe(0);
    expect(cosineSimilarity(empty, embedder.embedSync('hello'))).toBe(0);
  });

  it('scores a near-identical rewording above the default threshold', () => {
    expect(
      similarity('How do I reset my password?', 'How can I reset my password?'),
    ).toBeGreaterThan(DEFAULT_SEMANTIC_THRESHOLD);
    expect(similarity('How do I reset my password?', 'how do i reset my password')).toBeCloseTo(
      1,
      5,
    );
  });

  it('scores unrelated questions near zero', () => {
    expect(
      Math.abs(similarity('How do I reset my password?', 'What is the capital of France?')),
    ).toBeLessThan(0.2);
  });

  it('relates inflected forms of the same words', () => {
    expect(
      similarity('Why is my hair styling so slow?', 'Why is my hair styled so slowly?'),
    ).toBeGreaterThan(0.8);
  });

  it('keeps some word order, so swapped roles score below the default threshold', () => {
    expect(similarity('A dog is carrying a man.', 'A man is carrying a dog.')).toBeLessThan(
      DEFAULT_SEMANTIC_THRESHOLD,
    );
  });

  it('embeds a run of short questions in one synchronous pass, each to its own unit vector', () => {
    // The speed of this pass is measured by `npm run bench:timing`, not here: a busy machine
    // must not fail the suite.
    const questions = Array.from({ length: 500 }, (_, i) => `How do I sort list number ${i}?`);
    const vectors = questions.map((q) => embedder.embedSync(q));
    const digests = new Set(
      vectors.map((v) => createHash('sha256').update(new Uint8Array(v.buffer)).digest('hex')),
    );
    expect(digests.size).toBe(questions.length);
    for (const vector of vectors) expect(norm(vector)).toBeCloseTo(1, 5);
  });

  it('rejects a batch whose signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('client went away'));
    await expect(embedder.embed(['hello'], controller.signal)).rejects.toThrow('client went away');
  });
});

describe('lightStem', () => {
  it('gives inflections of a word one stem', () => {
    expect(new Set(['style', 'styles', 'styled', 'styling'].map(lightStem)).size).toBe(1);
    expect(new Set(['run', 'runs', 'running'].map(lightStem)).size).toBe(1);
    expect(new Set(['city', 'cities'].map(lightStem)).size).toBe(1);
  });

  it('leaves short words and words that only look inflected alone', () => {
    expect(lightStem('bus')).toBe('bus');
    expect(lightStem('string')).toBe('string');
    expect(lightStem('thing')).toBe('thing');
  });
});
