import { NO_SKIPPED_GUARDS } from '../guards/compare-guard-features.js';
import { DEFAULT_SEMANTIC_THRESHOLD } from '../semantic-decision.js';
import { l2NormaliseInPlace } from '../vector-math.js';
import type { Embedder } from './embedder.js';
import { addLocalFeatures, LOCAL_FEATURE_WEIGHTS } from './local-features.js';

/** Dimensions of the local embedding: 2 KiB per vector as float32. */
export const LOCAL_EMBEDDING_DIMENSIONS = 512;

/** The built-in embedder, which also offers a synchronous call for the hot path. */
export interface LocalEmbedder extends Embedder {
  /** Embeds one text without awaiting; the same vector `embed` returns. */
  embedSync(text: string): Float32Array;
}

/**
 * Creates the built-in embedder: no model download, deterministic, a few microseconds per short
 * question. It hashes stemmed words, word bigrams and character n-grams into a signed,
 * L2-normalised 512-dimension vector. It knows spelling, not meaning: paraphrases that share
 * words score high, synonyms score low.
 */
export function createLocalEmbedder(): LocalEmbedder {
  const embedSync = (text: string): Float32Array => {
    const vector = new Float32Array(LOCAL_EMBEDDING_DIMENSIONS);
    addLocalFeatures(vector, text, LOCAL_FEATURE_WEIGHTS);
    return l2NormaliseInPlace(vector);
  };
  return {
    id: `local-v1-${LOCAL_EMBEDDING_DIMENSIONS}`,
    dimensions: LOCAL_EMBEDDING_DIMENSIONS,
    defaultThreshold: DEFAULT_SEMANTIC_THRESHOLD,
    // Measured: no optional check removes more right hits than wrong ones for it.
    skippedGuards: NO_SKIPPED_GUARDS,
    // Hashed features: a few tens of the 512 components are nonzero, all of them indexed.
    denseLeading: 0,
    embedSync,
    async embed(texts, signal) {
      signal?.throwIfAborted();
      return texts.map(embedSync);
    },
  };
}
