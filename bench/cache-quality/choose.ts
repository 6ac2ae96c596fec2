import {
  GUARD_CHECKS,
  type GuardCheckName,
  REQUIRED_GUARD_CHECKS,
} from '../../src/cache/guards/compare-guard-features.js';
import { type CheckRemovals, guardRemovals, type SetEvaluation } from './evaluate.js';
import { chooseThreshold, rates } from './report.js';

/**
 * The rules that choose an embedder's profile. They read the tuning sets only (STS-B dev and the
 * even lines of the question pairs); the held-out sets are evaluated after every choice is made.
 */

/** Guarded precision the threshold must keep on both tuning sets, from itself up. */
export const TUNING_PRECISION = 0.95;
/** Added to the lowest such threshold: the held-out data is never as kind as the tuning data. */
export const MARGIN = 0.01;
/** The lexical weights of the model embedder's blend that are tried. */
export const LEXICAL_WEIGHTS = [0, 0.1, 0.2, 0.3, 0.4, 0.5] as const;
/** Net right hits (over both tuning sets) a check must cost before it is left out. */
export const MIN_NET_RIGHT_REMOVED = 3;

/** The two tuning evaluations of one configuration. */
export interface Tuning {
  readonly dev: SetEvaluation;
  readonly qq: SetEvaluation;
}

/**
 * The threshold rule: the lowest threshold from which guarded precision (nearest-neighbour,
 * judged) stays at or above TUNING_PRECISION on both tuning sets, plus MARGIN; null if none.
 */
export function thresholdRule(tuning: Tuning): { lowest: number | null; chosen: number | null } {
  const choices = [tuning.dev, tuning.qq].map((e) =>
    chooseThreshold(e.nearestJudged.guarded, TUNING_PRECISION),
  );
  if (choices.some((c) => c === null)) return { lowest: null, chosen: null };
  const lowest = Math.max(...(choices as number[]));
  return { lowest, chosen: Math.min(0.99, round2(lowest + MARGIN)) };
}

/** Guarded recall (nearest-neighbour, judged) of each tuning set at a threshold. */
export function tuningRecall(tuning: Tuning, threshold: number): { qq: number; dev: number } {
  const at = (e: SetEvaluation) => {
    const stats = e.nearestJudged.guarded.find((s) => Math.abs(s.threshold - threshold) < 1e-9);
    return stats === undefined ? 0 : rates(stats).recall;
  };
  return { qq: at(tuning.qq), dev: at(tuning.dev) };
}

/**
 * The weight rule: the weight whose chosen threshold gives the highest recall on the tuning
 * question pairs (the traffic that matters most), then on STS-B dev, then the smaller weight.
 */
export function better(
  a: { weight: number; qq: number; dev: number },
  b: { weight: number; qq: number; dev: number },
): boolean {
  if (a.qq !== b.qq) return a.qq > b.qq;
  if (a.dev !== b.dev) return a.dev > b.dev;
  return a.weight < b.weight;
}

/** One check's removals on both tuning sets, and whether the rule leaves it out. */
export interface CheckVerdict {
  readonly check: GuardCheckName;
  readonly required: boolean;
  readonly dev: CheckRemovals;
  readonly qq: CheckRemovals;
  readonly leftOut: boolean;
}

/**
 * The guard rule, at the chosen threshold and above: a check that is not required is left out
 * when, on each tuning set, the hits it alone removes are right at least as often as wrong, and
 * over both sets at least MIN_NET_RIGHT_REMOVED more right than wrong. A check that removes more
 * wrong hits than right ones on the question pairs always stays, whatever STS-B says.
 */
export function guardRule(tuning: Tuning, threshold: number): CheckVerdict[] {
  const checks = GUARD_CHECKS.map((c) => c.name);
  const dev = guardRemovals(tuning.dev.judged, threshold, checks);
  const qq = guardRemovals(tuning.qq.judged, threshold, checks);
  return checks.map((check, i) => {
    const d = dev[i] as CheckRemovals;
    const q = qq[i] as CheckRemovals;
    const required = REQUIRED_GUARD_CHECKS.has(check);
    const net = d.aloneRight - d.aloneWrong + (q.aloneRight - q.aloneWrong);
    const leftOut =
      !required &&
      d.aloneRight >= d.aloneWrong &&
      q.aloneRight >= q.aloneWrong &&
      net >= MIN_NET_RIGHT_REMOVED;
    return { check, required, dev: d, qq: q, leftOut };
  });
}

/** Rounds to the sweep's step (0.01). */
export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
