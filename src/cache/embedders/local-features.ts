import { addHashed, featureHash, featureHashRange } from './feature-hash.js';
import { lightStem } from './light-stem.js';
import { isFunctionWord, wordWeight } from './word-weights.js';

/** The knobs of the local embedding; `LOCAL_FEATURE_WEIGHTS` holds the measured defaults. */
export interface LocalFeatureWeights {
  /** Weight of a stemmed word. */
  readonly unigram: number;
  /** Weight of two adjacent content words (keeps some word order). */
  readonly bigram: number;
  /** Total weight of one word's character n-grams (catches inflections and typos). */
  readonly charGrams: number;
  /** Shortest and longest character n-gram. */
  readonly minGram: number;
  readonly maxGram: number;
  /** Weight multiplier for function words and for very common content words. */
  readonly functionWord: number;
  readonly commonWord: number;
}

/** Defaults chosen with `npm run bench:cache-quality` on the STS-B dev split. */
export const LOCAL_FEATURE_WEIGHTS: LocalFeatureWeights = {
  unigram: 1,
  bigram: 0.7,
  charGrams: 0.6,
  minGram: 3,
  maxGram: 5,
  functionWord: 0.15,
  commonWord: 0.5,
};

const SEED_UNIGRAM = 0x9e3779b9;
const SEED_BIGRAM = 0x7f4a7c15;
const SEED_CHAR = 0x2545f491;
// A run of letters or digits, optionally joined by apostrophes ("don't", "france's"); each
// repetition must start with an apostrophe, so matching stays linear in the input.
const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;
const DIGITS = /^\p{N}+$/u;

interface Token {
  readonly lower: string;
  readonly stem: string;
  readonly weight: number;
  readonly content: boolean;
}

/**
 * Adds the hashed features of `text` into `vector` (whose length is a power of two): stemmed
 * words with sublinear term frequency, bigrams of adjacent content words and character n-grams
 * of content words, all down-weighted for function words and common words.
 */
export function addLocalFeatures(
  vector: Float32Array,
  text: string,
  weights: LocalFeatureWeights,
): void {
  const tokens = tokenise(text, weights);
  const counts = new Map<string, number>();
  const bump = (key: string, weight: number) => counts.set(key, (counts.get(key) ?? 0) + weight);

  let previous: Token | undefined;
  for (const token of tokens) {
    bump(`u${token.stem}`, token.weight);
    if (!token.content) continue;
    if (previous !== undefined) {
      bump(`b${previous.stem} ${token.stem}`, Math.sqrt(previous.weight * token.weight));
    }
    previous = token;
    if (!DIGITS.test(token.lower)) addCharGrams(vector, token, weights);
  }
  for (const [key, total] of counts) {
    // Sublinear term frequency: a word said three times is not three times as important.
    const value = Math.log1p(total);
    if (key.startsWith('u')) {
      addHashed(vector, featureHash(key, SEED_UNIGRAM), weights.unigram * value);
    } else {
      addHashed(vector, featureHash(key, SEED_BIGRAM), weights.bigram * value);
    }
  }
}

function addCharGrams(vector: Float32Array, token: Token, weights: LocalFeatureWeights): void {
  const padded = `<${token.lower}>`;
  let grams = 0;
  for (let n = weights.minGram; n <= weights.maxGram; n++)
    grams += Math.max(0, padded.length - n + 1);
  if (grams === 0) return;
  const each = (weights.charGrams * token.weight) / Math.sqrt(grams);
  for (let n = weights.minGram; n <= weights.maxGram; n++) {
    for (let i = 0; i + n <= padded.length; i++) {
      addHashed(vector, featureHashRange(padded, i, i + n, SEED_CHAR), each);
    }
  }
}

function tokenise(text: string, weights: LocalFeatureWeights): Token[] {
  const tokens: Token[] = [];
  // The words alone (no match objects with their positions, which nothing here reads).
  for (const match of text.toLowerCase().match(WORD) ?? []) {
    for (const word of splitContraction(match)) {
      const function_ = isFunctionWord(word);
      tokens.push({
        lower: word,
        stem: DIGITS.test(word) ? word : lightStem(word),
        weight: wordWeight(word, weights.functionWord, weights.commonWord),
        content: !function_,
      });
    }
  }
  return tokens;
}

const IRREGULAR_NEGATIONS: Readonly<Record<string, string>> = {
  won: 'will',
  can: 'can',
  shan: 'shall',
};

/** "don't" → do + not, "france's" → france, "you're" → you. */
function splitContraction(word: string): string[] {
  const apostrophe = word.search(/['’]/);
  if (apostrophe < 0) return [word];
  const base = word.slice(0, apostrophe);
  const suffix = word.slice(apostrophe + 1);
  if (suffix === 't' && base.endsWith('n')) {
    return [IRREGULAR_NEGATIONS[base] ?? base.slice(0, -1), 'not'];
  }
  return base === '' ? [] : [base];
}
