import { describe, expect, it } from 'vitest';
import { createLocalEmbedder } from '../../src/cache/embedders/local-embedder.js';
import {
  GUARD_CHECKS,
  REQUIRED_GUARD_CHECKS,
} from '../../src/cache/guards/compare-guard-features.js';
import {
  DEFAULT_SEMANTIC_THRESHOLD,
  decideSemanticHit,
} from '../../src/cache/semantic-decision.js';
import { cosineSimilarity } from '../../src/cache/vector-math.js';

const question = 'How do I reset my password?';

describe('decideSemanticHit', () => {
  it('hits when the similarity reaches the threshold and the guards agree', () => {
    expect(
      decideSemanticHit({
        query: question,
        candidate: 'How can I reset my password?',
        similarity: 0.9,
        threshold: 0.9,
      }),
    ).toEqual({ hit: true, reason: 'similar' });
  });

  it('misses below the threshold without running the guards', () => {
    expect(
      decideSemanticHit({ query: question, candidate: question, similarity: 0.89, threshold: 0.9 }),
    ).toEqual({ hit: false, reason: 'below-threshold' });
  });

  it('misses above the threshold when a guard refuses, and says which', () => {
    expect(
      decideSemanticHit({
        query: 'What is 12 + 7?',
        candidate: 'What is 12 + 8?',
        similarity: 0.99,
        threshold: 0.5,
      }),
    ).toEqual({ hit: false, reason: 'number-mismatch' });
  });

  it('never hits on a similarity that is not a number', () => {
    expect(
      decideSemanticHit({
        query: question,
        candidate: question,
        similarity: Number.NaN,
        threshold: 0,
      }),
    ).toEqual({ hit: false, reason: 'below-threshold' });
  });

  it('has a default threshold that is a cosine similarity strictly between 0.5 and 1', () => {
    expect(DEFAULT_SEMANTIC_THRESHOLD).toBeGreaterThan(0.5);
    expect(DEFAULT_SEMANTIC_THRESHOLD).toBeLessThan(1);
  });
});

describe("decideSemanticHit with an embedder's guard profile", () => {
  const every = new Set(GUARD_CHECKS.map((c) => c.name));
  const decide = (query: string, candidate: string, skipped: ReadonlySet<string>) =>
    decideSemanticHit({
      query,
      candidate,
      similarity: 0.99,
      threshold: 0.5,
      skippedGuards: new Set(GUARD_CHECKS.map((c) => c.name).filter((n) => skipped.has(n))),
    });

  it('leaves out a check the profile names', () => {
    const query = 'UK income tax and charitable donations: how much is income tax reduced?';
    const candidate = 'US income tax and charitable donations: how much is income tax reduced?';
    expect(decide(query, candidate, new Set())).toEqual({
      hit: false,
      reason: 'key-term-mismatch',
    });
    expect(decide(query, candidate, new Set(['key-terms']))).toEqual({
      hit: true,
      reason: 'similar',
    });
  });

  it('never leaves out the numbers, operators, negations, opposite words, quoted text, code, indentation or capitals', () => {
    expect([...REQUIRED_GUARD_CHECKS].sort()).toEqual(
      [
        'code-identifiers',
        'indentation',
        'letter-case',
        'negations',
        'numbers',
        'operators',
        'opposite-words',
        'quoted-text',
        'verbatim-text',
      ].sort(),
    );
    const refused: Array<[string, string, string]> = [
      ['How many calories are in 2 eggs?', 'How many calories are in 3 eggs?', 'number-mismatch'],
      ['What is 12 + 7?', 'What is 12 * 7?', 'operator-mismatch'],
      [
        'Is it safe to take ibuprofen with coffee?',
        'Is it not safe to take ibuprofen with coffee?',
        'negation-mismatch',
      ],
      ['Is this mushroom edible?', 'Is this mushroom inedible?', 'opposite-word'],
      [
        'What does "foo" mean in this log?',
        'What does "bar" mean in this log?',
        'quoted-text-mismatch',
      ],
      [
        'Why does parse_int() return NaN?',
        'Why does parse_float() return NaN?',
        'code-identifier-mismatch',
      ],
      ['a:\n  b: 1\nc: 2', 'a:\n  b: 1\n  c: 2', 'indentation-mismatch'],
      ['Is "a  b" one word?', 'Is "a b" one word?', 'verbatim-text-mismatch'],
      ['Is NULL the same as null?', 'Is null the same as NULL?', 'letter-case-mismatch'],
    ];
    for (const [query, candidate, reason] of refused) {
      expect(decide(query, candidate, every)).toEqual({ hit: false, reason });
    }
  });
});

describe('decideSemanticHit with the local embedder at the default threshold', () => {
  const embedder = createLocalEmbedder();
  const decide = (query: string, candidate: string) =>
    decideSemanticHit({
      query,
      candidate,
      similarity: cosineSimilarity(embedder.embedSync(query), embedder.embedSync(candidate)),
      threshold: DEFAULT_SEMANTIC_THRESHOLD,
    });

  it('serves a cached answer to a rewording', () => {
    expect(decide('How do I reset my password?', 'how can I reset my password')).toEqual({
      hit: true,
      reason: 'similar',
    });
  });

  it('refuses a near-identical question with another number even though the vectors are close', () => {
    const query = 'What were the main causes of the financial crisis in the United States in 2008?';
    const candidate =
      'What were the main causes of the financial crisis in the United States in 2009?';
    const similarity = cosineSimilarity(embedder.embedSync(query), embedder.embedSync(candidate));
    expect(similarity).toBeGreaterThan(DEFAULT_SEMANTIC_THRESHOLD);
    expect(decide(query, candidate)).toEqual({ hit: false, reason: 'number-mismatch' });
  });

  it('refuses a near-identical question with a negation even though the vectors are close', () => {
    const query = 'Why does my laptop fan run when the lid is closed?';
    const candidate = 'Why does my laptop fan not run when the lid is closed?';
    const similarity = cosineSimilarity(embedder.embedSync(query), embedder.embedSync(candidate));
    expect(similarity).toBeGreaterThan(DEFAULT_SEMANTIC_THRESHOLD);
    expect(decide(query, candidate)).toEqual({ hit: false, reason: 'negation-mismatch' });
  });

  it('misses an unrelated question on similarity alone', () => {
    expect(decide('How do I reset my password?', 'What is the capital of France?')).toEqual({
      hit: false,
      reason: 'below-threshold',
    });
  });
});
