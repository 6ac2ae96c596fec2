import { compareGuardFeatures, type GuardRejection } from './guards/compare-guard-features.js';
import { extractGuardFeatures } from './guards/guard-features.js';

/** Whether a semantic candidate may answer the query; `reason` names a category, not text. */
export type GuardResult = { ok: true } | { ok: false; reason: GuardRejection };

/**
 * Refuses a semantic match whose two questions, however similar their embeddings, may need
 * different answers: they must agree on numbers (written or in digits, with units), operators,
 * negations, quoted text, code identifiers, names, languages and platforms, comparatives and
 * directions, the kind of question, opposite-prefixed words and the order around "to"/"than".
 * Runs on every semantic hit whatever the embedder. Linear in the length of the texts.
 */
export function guardSemanticMatch(query: string, candidate: string): GuardResult {
  const reason = compareGuardFeatures(extractGuardFeatures(query), extractGuardFeatures(candidate));
  return reason === null ? { ok: true } : { ok: false, reason };
}
