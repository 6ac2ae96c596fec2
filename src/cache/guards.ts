import {
  compareGuardFeatures,
  type GuardCheckName,
  type GuardRejection,
  numbersAgree,
} from './guards/compare-guard-features.js';
import { extractGuardFeatures, readGuardNumbers } from './guards/guard-features.js';

/** Whether a semantic candidate may answer the query; `reason` names a category, not text. */
export type GuardResult = { ok: true } | { ok: false; reason: GuardRejection };

/**
 * Refuses a semantic match whose two questions, however similar their embeddings, may need
 * different answers: they must agree on numbers (written or in digits, with units), operators,
 * negations, quoted text, code identifiers, indentation, code and quotes byte for byte, words in
 * capitals ("NULL" against "null"), names, languages and platforms, comparatives and directions,
 * the kind of question, opposite-prefixed words, the order around "to"/"than" and the people
 * their pronouns name ("my name" against "your name").
 * Runs on every semantic hit whatever the embedder; an embedder's profile may leave out checks
 * its measurement says remove more right hits than wrong ones (`skip`), never the numbers,
 * operators, negations or opposite words. Linear in the length of the texts.
 */
export function guardSemanticMatch(
  query: string,
  candidate: string,
  skip?: ReadonlySet<GuardCheckName>,
): GuardResult {
  const q = readGuardNumbers(query);
  const c = readGuardNumbers(candidate);
  // The numbers are checked first under every profile: when they differ, that is the answer,
  // and the rest of either question need not be read.
  if (!numbersAgree(q, c)) return { ok: false, reason: 'number-mismatch' };
  const reason = compareGuardFeatures(extractGuardFeatures(q), extractGuardFeatures(c), skip);
  return reason === null ? { ok: true } : { ok: false, reason };
}

/**
 * The numbers of a (normalised) question as the guards read them, as one string: a candidate whose
 * key differs from the query's is refused by guardSemanticMatch under every profile, however
 * similar the two are. The cache keeps each scope's keys to skip a search that could only find
 * such a candidate.
 */
export function numbersKey(question: string): string {
  return readGuardNumbers(question).numbers.join('\u0000');
}
