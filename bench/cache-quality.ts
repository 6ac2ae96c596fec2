/**
 * Cache-quality benchmark: how often would a semantic hit serve the right answer?
 * Reads the scored pairs in ../shared/data/similarity (score ≥ 4 same meaning, ≤ 2 different),
 * stores one side, queries with the other through the real decision code (embedder, cosine,
 * guards via decideSemanticHit), sweeps the threshold and picks the default on the dev split.
 * Run: npm run bench:cache-quality
 */
import type { Embedder } from '../src/cache/embedders/embedder.js';
import { createLocalEmbedder } from '../src/cache/embedders/local-embedder.js';
import { createUpstreamEmbedder } from '../src/cache/embedders/upstream-embedder.js';
import { guardSemanticMatch } from '../src/cache/guards.js';
import { DEFAULT_SEMANTIC_THRESHOLD } from '../src/cache/semantic-decision.js';
import { evaluateSet, type SetEvaluation, type ThresholdStats } from './cache-quality/evaluate.js';
import { loadPairSets } from './cache-quality/load-pairs.js';
import {
  chooseThreshold,
  formatAtThreshold,
  formatSweep,
  rates,
  TARGET_PRECISION,
} from './cache-quality/report.js';

const DATA_DIR = new URL('../../shared/data/similarity/', import.meta.url);
const THRESHOLDS = Array.from({ length: 50 }, (_, i) => Math.round(50 + i) / 100);

async function main(): Promise<void> {
  const sets = await loadPairSets(DATA_DIR);
  for (const set of [sets.dev, sets.test, sets.qq]) {
    const count = (label: string) => set.pairs.filter((p) => p.label === label).length;
    console.log(
      `${set.name}: ${set.pairs.length} pairs, ${count('same')} same (≥4), ${count('different')} different (≤2), ${count('ignored')} ignored`,
    );
  }

  console.log(
    [
      '',
      'Each pair: store the first sentence, query with the second through decideSemanticHit.',
      '  pairwise   the query meets only its own partner',
      '  nn-strict  the query meets every stored first sentence of the set and gets the nearest;',
      '             a hit is true only on its own partner when the pair means the same',
      '  nn-judged  as nn-strict, but a hit on another entry with the same words in the same',
      '             order (articles, "be", in/on/at ignored) or scored >= 4 with it also counts',
      'precision = true hits / hits; recall = true hits of same-meaning pairs / same-meaning pairs',
    ].join('\n'),
  );

  const embedders: Embedder[] = [createLocalEmbedder()];
  const upstream = upstreamFromEnv();
  if (typeof upstream === 'string') console.log(`\nupstream embedder: skipped (${upstream})`);
  else embedders.push(upstream);

  for (const embedder of embedders) {
    try {
      await evaluateEmbedder(embedder, sets);
    } catch (error) {
      console.log(
        `\n${embedder.id}: failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      process.exitCode = 1;
    }
  }
}

async function evaluateEmbedder(
  embedder: Embedder,
  sets: Awaited<ReturnType<typeof loadPairSets>>,
): Promise<void> {
  console.log(`\n=== ${embedder.id} (${embedder.dimensions} dimensions) ===`);
  console.log(
    await timings(
      embedder,
      sets.dev.pairs.map((p) => p.query),
    ),
  );
  const dev = await evaluateSet(sets.dev, embedder, THRESHOLDS);
  const test = await evaluateSet(sets.test, embedder, THRESHOLDS);
  const qq = await evaluateSet(sets.qq, embedder, THRESHOLDS);

  const choices = {
    nearestJudged: chooseThreshold(dev.nearestJudged.guarded, TARGET_PRECISION),
    nearestStrict: chooseThreshold(dev.nearestStrict.guarded, TARGET_PRECISION),
    pairwise: chooseThreshold(dev.pairwise.guarded, TARGET_PRECISION),
  };
  const basis = choices.nearestJudged !== null ? 'nearestJudged' : 'pairwise';
  const chosen = choices[basis];
  console.log(
    formatSweep('\nstsb-dev, nearest-neighbour (judged) sweep:', dev.nearestJudged, chosen),
  );
  console.log(formatSweep('\nstsb-dev, pairwise sweep:', dev.pairwise, chosen));
  console.log(
    `\nlowest dev threshold with guarded precision ≥ ${TARGET_PRECISION} from there up: ` +
      `nn-judged ${choices.nearestJudged ?? 'none'}, nn-strict ${choices.nearestStrict ?? 'none'}, pairwise ${choices.pairwise ?? 'none'}` +
      `\nchosen: ${chosen ?? 'none'} (from ${basis === 'nearestJudged' ? 'nn-judged' : 'pairwise'})`,
  );
  const reportAt = chosen ?? THRESHOLDS[THRESHOLDS.length - 1] ?? 0.99;
  const rows: Array<readonly [string, SetEvaluation]> = [
    ['stsb-dev', dev],
    ['stsb-test', test],
    ['sts16-qq', qq],
  ];
  console.log(`\nat threshold ${reportAt.toFixed(2)}:\n${formatAtThreshold(reportAt, rows)}`);
  if (embedder.id.startsWith('local-')) {
    checkDefault(chosen, dev[basis].guarded);
  }
}

function upstreamFromEnv(): Embedder | string {
  const baseURL = process.env.EMBEDDINGS_BASE_URL;
  const apiKey = process.env.UPSTREAM_API_KEY;
  if (baseURL === undefined || baseURL === '') return 'EMBEDDINGS_BASE_URL is not set';
  if (apiKey === undefined || apiKey === '') return 'UPSTREAM_API_KEY is not set';
  const model = process.env.EMBEDDINGS_MODEL ?? 'text-embedding-3-small';
  const dimensions = Number(process.env.EMBEDDINGS_DIMENSIONS ?? 1536);
  if (!Number.isInteger(dimensions) || dimensions <= 0)
    return 'EMBEDDINGS_DIMENSIONS is not a positive integer';
  return createUpstreamEmbedder({ baseURL, apiKey, model, dimensions, maxRetries: 2 });
}

async function timings(embedder: Embedder, texts: readonly string[]): Promise<string> {
  const sample = texts.slice(0, 500);
  // Warm up first, then keep the best of five rounds: the figures are for a hot process.
  let embedUs = Number.POSITIVE_INFINITY;
  let guardUs = Number.POSITIVE_INFINITY;
  const rounds = embedder.id.startsWith('local-') ? 6 : 1;
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    await embedder.embed(sample);
    const guardStart = performance.now();
    for (let i = 1; i < sample.length; i++)
      guardSemanticMatch(sample[i] ?? '', sample[i - 1] ?? '');
    const end = performance.now();
    if (round === 0 && rounds > 1) continue;
    embedUs = Math.min(embedUs, ((guardStart - start) * 1000) / sample.length);
    guardUs = Math.min(guardUs, ((end - guardStart) * 1000) / (sample.length - 1));
  }
  return `embed: ${embedUs.toFixed(1)} µs/text (batch of ${sample.length}); guards: ${guardUs.toFixed(1)} µs/pair (best of ${Math.max(1, rounds - 1)} warm rounds)`;
}

function checkDefault(chosen: number | null, dev: readonly ThresholdStats[]): void {
  const stats = dev.find((s) => Math.abs(s.threshold - DEFAULT_SEMANTIC_THRESHOLD) < 1e-9);
  const measured = chosen === null ? 'none' : chosen.toFixed(2);
  if (
    chosen !== null &&
    Math.abs(chosen - DEFAULT_SEMANTIC_THRESHOLD) < 1e-9 &&
    stats !== undefined
  ) {
    const { precision, recall } = rates(stats);
    console.log(
      `\nDEFAULT_SEMANTIC_THRESHOLD = ${DEFAULT_SEMANTIC_THRESHOLD} matches the measurement (dev, guards on: precision ${(precision * 100).toFixed(1)}%, recall ${(recall * 100).toFixed(1)}%).`,
    );
  } else {
    console.log(
      `\nDEFAULT_SEMANTIC_THRESHOLD = ${DEFAULT_SEMANTIC_THRESHOLD} does NOT match the measurement (${measured}); update src/cache/semantic-decision.ts.`,
    );
    process.exitCode = 1;
  }
}

await main();
