import { MODES, type SetEvaluation, type Sweep, type ThresholdStats } from './evaluate.js';

/** Precision (1 when there are no hits: nothing wrong was served) and recall. */
export function rates(stats: ThresholdStats): { precision: number; recall: number } {
  return {
    precision: stats.hits === 0 ? 1 : stats.trueHits / stats.hits,
    recall: stats.same === 0 ? 0 : stats.recalled / stats.same,
  };
}

/**
 * The lowest threshold from which precision stays at or above the target for every higher
 * threshold in the sweep (a single lucky threshold with a dip above it does not count).
 */
export function chooseThreshold(sweep: readonly ThresholdStats[], target: number): number | null {
  let chosen: number | null = null;
  for (let i = sweep.length - 1; i >= 0; i--) {
    const stats = sweep[i];
    if (stats === undefined || rates(stats).precision < target) break;
    chosen = stats.threshold;
  }
  return chosen;
}

function at(sweep: readonly ThresholdStats[], threshold: number): ThresholdStats {
  const found = sweep.find((s) => Math.abs(s.threshold - threshold) < 1e-9);
  if (found === undefined) throw new Error(`threshold ${threshold} is not in the sweep`);
  return found;
}

const MODE_LABELS: Record<(typeof MODES)[number], string> = {
  pairwise: 'pairwise',
  nearestStrict: 'nn-strict',
  nearestJudged: 'nn-judged',
};

const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;

function cell(stats: ThresholdStats): string {
  const { precision, recall } = rates(stats);
  return `${pct(precision)} ${pct(recall)} ${String(stats.hits).padStart(5)}`;
}

/** A compact sweep: every fifth threshold plus the chosen one, guarded and unguarded. */
export function formatSweep(title: string, evaluation: Sweep, chosen: number | null): string {
  const lines = [title, '  thresh | guards on: prec  recall  hits | guards off: prec recall  hits'];
  evaluation.guarded.forEach((g, i) => {
    const u = evaluation.unguarded[i];
    const every5 = Math.round(g.threshold * 100) % 5 === 0;
    if (u === undefined || (!every5 && g.threshold !== chosen)) return;
    const mark = g.threshold === chosen ? '*' : ' ';
    lines.push(`  ${mark}${g.threshold.toFixed(2)}  |   ${cell(g)}   |   ${cell(u)}`);
  });
  return lines.join('\n');
}

/** One row per set × mode × guards at the chosen threshold. */
export function formatAtThreshold(
  threshold: number,
  sets: ReadonlyArray<readonly [name: string, evaluation: SetEvaluation]>,
): string {
  const lines = [
    `  set        mode       guards   precision  recall   hits  true  same`,
    `  ---------  ---------  ------   ---------  ------  -----  ----  ----`,
  ];
  for (const [name, evaluation] of sets) {
    for (const mode of MODES) {
      for (const guards of ['on', 'off'] as const) {
        const sweep = evaluation[mode][guards === 'on' ? 'guarded' : 'unguarded'];
        const stats = at(sweep, threshold);
        const { precision, recall } = rates(stats);
        lines.push(
          `  ${name.padEnd(9)}  ${MODE_LABELS[mode].padEnd(9)}  ${guards.padEnd(6)}   ${pct(precision).padStart(9)}  ${pct(recall)}  ${String(stats.hits).padStart(5)}  ${String(stats.trueHits).padStart(4)}  ${String(stats.same).padStart(4)}`,
        );
      }
    }
  }
  return lines.join('\n');
}
