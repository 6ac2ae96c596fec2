import type { Embedder } from '../../src/cache/embedders/embedder.js';
import { lightStem } from '../../src/cache/embedders/light-stem.js';
import {
  failingGuardChecks,
  type GuardCheckName,
} from '../../src/cache/guards/compare-guard-features.js';
import { extractGuardFeatures } from '../../src/cache/guards/guard-features.js';
import { decideSemanticHit } from '../../src/cache/semantic-decision.js';
import { normaliseUserText } from '../../src/cache/text-normalise.js';
import type { PairSet } from './load-pairs.js';

/** Hits counted at one threshold. */
export interface ThresholdStats {
  readonly threshold: number;
  readonly hits: number;
  readonly trueHits: number;
  /** True hits for queries of same-meaning pairs: the recall numerator. */
  readonly recalled: number;
  /** Same-meaning pairs: the recall denominator. */
  readonly same: number;
}

/** A threshold sweep with and without the guards. */
export interface Sweep {
  readonly guarded: ThresholdStats[];
  readonly unguarded: ThresholdStats[];
}

/** The evaluation modes of one pair set under one embedder. */
export interface SetEvaluation {
  readonly pairwise: Sweep;
  readonly nearestStrict: Sweep;
  readonly nearestJudged: Sweep;
  /** The nearest-neighbour (judged) candidates, for measuring what each guard check removes. */
  readonly judged: readonly Candidate[];
}

/** The evaluation modes, in report order. */
export const MODES = ['pairwise', 'nearestStrict', 'nearestJudged'] as const;

/** A query and the stored entry it would be answered from. */
export interface Candidate {
  readonly query: string;
  readonly candidate: string;
  readonly similarity: number;
  /** A hit here would serve the right answer. */
  readonly correct: boolean;
  /** The query belongs to a same-meaning pair. */
  readonly sameMeaning: boolean;
}

/**
 * Evaluates one pair set. Pairwise: each query is compared with its own partner only.
 * Nearest-neighbour: every distinct first sentence is stored, and each query is answered by the
 * single most similar stored entry, as a cache with many entries in one scope would. Entries
 * whose text equals the query are skipped (the exact cache answers those first).
 * - strict: a hit is true only on the query's own partner when the pair means the same;
 * - judged: a hit on another entry is also true when the set scores that very sentence pair
 *   ≥ 4, or when both texts say the same content words in the same order (see `surface`): the
 *   data repeats captions with trivial variants ("A man is playing a flute." / "A man is
 *   playing flute.") that strict mode counts as wrong. Everything else stays false, so this
 *   still undercounts correct hits.
 */
export async function evaluateSet(
  set: PairSet,
  embedder: Embedder,
  thresholds: readonly number[],
  skippedGuards: ReadonlySet<GuardCheckName>,
): Promise<SetEvaluation> {
  const labelled = set.pairs.filter((p) => p.label !== 'ignored');
  const same = labelled.filter((p) => p.label === 'same').length;
  const storedTexts = [...new Set(set.pairs.map((p) => normaliseUserText(p.stored)))];
  const queryTexts = labelled.map((p) => normaliseUserText(p.query));
  const storedVectors = await embedder.embed(storedTexts);
  const queryVectors = await embedder.embed(queryTexts);
  const storedIndex = new Map(storedTexts.map((text, i) => [text, i]));
  const sameMeaningPairs = new Set(
    set.pairs
      .filter((p) => p.label === 'same')
      .map((p) => pairKey(normaliseUserText(p.stored), normaliseUserText(p.query))),
  );

  const pairwise: Candidate[] = [];
  const strict: Candidate[] = [];
  const judged: Candidate[] = [];
  labelled.forEach((pair, q) => {
    const query = queryTexts[q] ?? '';
    const queryVector = queryVectors[q] ?? new Float32Array(embedder.dimensions);
    const partner = storedIndex.get(normaliseUserText(pair.stored)) ?? -1;
    let best = -1;
    let bestSim = Number.NEGATIVE_INFINITY;
    storedVectors.forEach((vector, s) => {
      if (storedTexts[s] === query) return;
      const sim = dot(queryVector, vector);
      if (sim > bestSim) {
        bestSim = sim;
        best = s;
      }
    });
    const sameMeaning = pair.label === 'same';
    const partnerText = storedTexts[partner] ?? '';
    const nearestText = storedTexts[best] ?? '';
    pairwise.push({
      query,
      candidate: partnerText,
      similarity: dot(queryVector, storedVectors[partner] ?? new Float32Array(embedder.dimensions)),
      correct: sameMeaning,
      sameMeaning,
    });
    const onPartner = best === partner;
    const nearest = { query, candidate: nearestText, similarity: bestSim, sameMeaning };
    strict.push({ ...nearest, correct: sameMeaning && onPartner });
    const judgedSame = onPartner
      ? sameMeaning
      : sameMeaningPairs.has(pairKey(query, nearestText)) ||
        surface(query) === surface(nearestText);
    judged.push({ ...nearest, correct: judgedSame });
  });

  return {
    pairwise: sweep(pairwise, same, thresholds, skippedGuards),
    nearestStrict: sweep(strict, same, thresholds, skippedGuards),
    nearestJudged: sweep(judged, same, thresholds, skippedGuards),
    judged,
  };
}

/** What one guard check removes among the candidates at or above a threshold. */
export interface CheckRemovals {
  readonly check: GuardCheckName;
  /** Hits only this check refuses (every other check passes): what leaving it out would add. */
  readonly aloneRight: number;
  readonly aloneWrong: number;
  /** Hits this check refuses, whatever the others say. */
  readonly firesRight: number;
  readonly firesWrong: number;
}

/** Right and wrong hits each guard check removes at or above `threshold`, in check order. */
export function guardRemovals(
  candidates: readonly Candidate[],
  threshold: number,
  checks: readonly GuardCheckName[],
): CheckRemovals[] {
  const rows = new Map(
    checks.map((check) => [
      check,
      { check, aloneRight: 0, aloneWrong: 0, firesRight: 0, firesWrong: 0 },
    ]),
  );
  for (const c of candidates) {
    if (c.similarity < threshold) continue;
    const failing = failingGuardChecks(
      extractGuardFeatures(c.query),
      extractGuardFeatures(c.candidate),
    );
    for (const check of failing) {
      const row = rows.get(check);
      if (row === undefined) continue;
      if (c.correct) row.firesRight++;
      else row.firesWrong++;
      if (failing.length === 1) {
        if (c.correct) row.aloneRight++;
        else row.aloneWrong++;
      }
    }
  }
  return [...rows.values()];
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

const JUDGE_IGNORES = new Set(
  'a an the some is are was were be been am his her its their my your our in on at'.split(' '),
);

/**
 * The judge's notion of "the same words": lower-cased; punctuation, articles, forms of "be",
 * possessive determiners and in/on/at dropped; words stemmed; order kept. "A man plays his
 * guitar." = "A man is playing the guitar." and "riding a horse" = "riding on a horse", but
 * "A dog carries a man." ≠ "A man carries a dog." and "a black dog" ≠ "a dog".
 */
function surface(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .split(/\s+/)
    .filter((w) => w !== '' && !JUDGE_IGNORES.has(w))
    .map(lightStem)
    .join(' ');
}

/**
 * Counts hits at every threshold, with the guards (as the cache decides: decideSemanticHit with
 * the embedder's skipped checks) and without. The guards' verdict does not depend on the
 * threshold, so it is asked once per candidate, at a threshold its similarity reaches.
 */
function sweep(
  candidates: readonly Candidate[],
  same: number,
  thresholds: readonly number[],
  skippedGuards: ReadonlySet<GuardCheckName>,
): Sweep {
  const guardsPass = candidates.map(
    (c) =>
      Number.isFinite(c.similarity) &&
      decideSemanticHit({
        query: c.query,
        candidate: c.candidate,
        similarity: c.similarity,
        threshold: c.similarity,
        skippedGuards,
      }).hit,
  );
  const guarded: ThresholdStats[] = [];
  const unguarded: ThresholdStats[] = [];
  for (const threshold of thresholds) {
    const g = { hits: 0, trueHits: 0, recalled: 0 };
    const u = { hits: 0, trueHits: 0, recalled: 0 };
    for (const [i, c] of candidates.entries()) {
      if (c.similarity < threshold) continue;
      count(u, c);
      if (guardsPass[i]) count(g, c);
    }
    guarded.push({ threshold, ...g, same });
    unguarded.push({ threshold, ...u, same });
  }
  return { guarded, unguarded };
}

function count(stats: { hits: number; trueHits: number; recalled: number }, c: Candidate): void {
  stats.hits++;
  if (c.correct) stats.trueHits++;
  if (c.correct && c.sameMeaning) stats.recalled++;
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}
