import type { GuardCheckName } from './guards/compare-guard-features.js';
import { guardSemanticMatch } from './guards.js';

/**
 * Cosine similarity from which the local embedder's nearest cached question may answer a new
 * one (the guards must pass too). Chosen by `npm run bench:cache-quality` on its tuning sets
 * (STS-B dev and half of the question pairs), nearest-neighbour mode (judged), guards on: the
 * lowest threshold from which precision stays at or above 0.95 on both (0.84), plus 0.01. At 0.85
 * on dev: precision 98.6%, recall 18.6% (72 hits); on the held-out question pairs 1 hit of 1
 * right. Other embedders need their own measurement.
 */
export const DEFAULT_SEMANTIC_THRESHOLD = 0.85;

/** Inputs of one semantic-hit decision. */
export interface SemanticHitParams {
  /** The normalised last user turn of the new request. */
  readonly query: string;
  /** The normalised question of the nearest cached entry in the same scope. */
  readonly candidate: string;
  /** Cosine similarity of their embeddings. */
  readonly similarity: number;
  /** Minimum similarity for a hit, e.g. `DEFAULT_SEMANTIC_THRESHOLD`. */
  readonly threshold: number;
  /** Guard checks the embedder's profile leaves out (`Embedder.skippedGuards`); none if absent. */
  readonly skippedGuards?: ReadonlySet<GuardCheckName>;
}

/** The verdict, with a reason fit for logs and metrics (a category, never the user's text). */
export interface SemanticHitDecision {
  readonly hit: boolean;
  readonly reason: string;
}

/**
 * Decides whether a cached answer may be served for a similar (not identical) question: the
 * similarity must reach the threshold and the precision guards must agree.
 */
export function decideSemanticHit(params: SemanticHitParams): SemanticHitDecision {
  if (!Number.isFinite(params.similarity) || params.similarity < params.threshold) {
    return { hit: false, reason: 'below-threshold' };
  }
  const guard = guardSemanticMatch(params.query, params.candidate, params.skippedGuards);
  return guard.ok ? { hit: true, reason: 'similar' } : { hit: false, reason: guard.reason };
}
