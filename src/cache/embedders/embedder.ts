import type { GuardCheckName } from '../guards/compare-guard-features.js';

/**
 * Turns texts into fixed-length, L2-normalised vectors (so cosine similarity is a dot product).
 * `id` names the model and its version: vectors from different ids must never be compared, so
 * the store keeps the id next to each vector.
 */
export interface Embedder {
  readonly id: string;
  readonly dimensions: number;
  /**
   * The cosine similarity from which this embedder's nearest cached question may answer (the
   * guards must agree too), chosen for precision by `npm run bench:cache-quality`.
   */
  readonly defaultThreshold: number;
  /**
   * Guard checks left out for this embedder because, measured on the same tuning data, they
   * remove more right hits than wrong ones (never the numbers, operators, negations, opposite
   * words, quoted text or code identifiers: those always run).
   */
  readonly skippedGuards: ReadonlySet<GuardCheckName>;
  /**
   * How many leading components of every vector are (almost always) nonzero, the rest being
   * mostly zeros: the cache's search holds those densely and indexes the rest by dimension.
   * Unset: read from the first vector (all dense when it is mostly nonzero, all sparse otherwise).
   */
  readonly denseLeading?: number;
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}
