/**
 * Semantic search benchmark: the CPU one question's search costs on the event loop, over a scope
 * of real texts (../shared/data: STS-B sentences, the question pairs, Natural Questions), for each
 * built-in embedder. The model embedder's blended vectors are searched twice, alternately, by the
 * same code: with the layout it declares (its 512 model components held densely, the local part
 * indexed by dimension) and with the layout read from its first vector (mostly nonzero, so every
 * row dense and every search a scan, as before the declared layout). Both must give the same
 * answer to every question, or the bench exits 1. The model's part alone (512 components, all
 * nonzero, as a provider's embeddings are) is searched too: every row dense, each search a scan
 * that stops reading a row once its bound falls short.
 *
 * The scope holds every text but the questions; the questions are texts left out and the other
 * sentence of stored pairs (so some are hits). Embedding the texts with the model takes a minute
 * or two on 2 cores.
 * Env: BENCH_ENTRIES (comma-separated scope sizes, default 2000,8000; at most the texts but the
 * questions), BENCH_QUESTIONS (400 of each kind), BENCH_ROUNDS (3).
 * Run: npm run bench:search
 */

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Embedder } from '../src/cache/embedders/embedder.js';
import { createLocalEmbedder } from '../src/cache/embedders/local-embedder.js';
import {
  createModelEmbedder,
  MODEL_DIMENSIONS,
  MODEL_SEMANTIC_THRESHOLD,
} from '../src/cache/embedders/model-embedder.js';
import { normaliseUserText } from '../src/cache/text-normalise.js';
import { type ShelfNearest, VectorShelf } from '../src/cache/vector-shelf.js';
import { envNumber } from './lib/env-number.js';

const DATA = new URL('../../shared/data/', import.meta.url);
const QUESTIONS = Math.round(envNumber('BENCH_QUESTIONS', 400));
const ROUNDS = Math.round(envNumber('BENCH_ROUNDS', 3));
const SIZES = (process.env.BENCH_ENTRIES ?? '2000,8000').split(',').map(Number);

function jsonLines(path: string, gzip = false): Record<string, unknown>[] {
  const bytes = readFileSync(new URL(path, DATA));
  const text = (gzip ? gunzipSync(bytes) : bytes).toString('utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Texts, pairs side by side (2k and 2k + 1), then single questions; and how many are paired. */
function loadTexts(): { texts: string[]; paired: number } {
  const texts: string[] = [];
  for (const file of ['similarity/stsb_dev.jsonl', 'similarity/stsb_test.jsonl']) {
    for (const row of jsonLines(file)) texts.push(String(row.sentence1), String(row.sentence2));
  }
  for (const row of jsonLines('similarity/sts2016_qq_scored.jsonl')) {
    texts.push(String(row.question1), String(row.question2));
  }
  const paired = texts.length;
  for (const row of jsonLines('prompts/nq-open-oracle.jsonl.gz', true)) {
    texts.push(String(row.question));
  }
  return { texts: texts.map(normaliseUserText), paired };
}

/** A fixed shuffle (the same scope and questions on every run). */
function shuffled(count: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  let seed = 7;
  for (let i = count - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = Math.floor((seed / 2147483648) * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

async function embedAll(embedder: Embedder, texts: string[]): Promise<Float32Array[]> {
  const vectors: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += 256) {
    vectors.push(...(await embedder.embed(texts.slice(i, i + 256))));
  }
  return vectors;
}

/** The model's part of each blended vector, at unit length: a dense embedder's vectors. */
function modelParts(vectors: Float32Array[]): Float32Array[] {
  return vectors.map((blended) => {
    const part = blended.slice(0, MODEL_DIMENSIONS);
    let sq = 0;
    for (const x of part) sq += x * x;
    const norm = Math.sqrt(sq);
    return part.map((x) => x / norm);
  });
}

interface Layout {
  name: string;
  lead: number | undefined;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Searches every question once; returns µs per search and the answers. */
function searchAll(
  shelf: VectorShelf<number>,
  vectors: Float32Array[],
  questions: number[],
  threshold: number,
): { us: number; answers: (ShelfNearest<number> | null)[] } {
  const answers: (ShelfNearest<number> | null)[] = [];
  const accept = () => true;
  const start = process.cpuUsage();
  for (const q of questions)
    answers.push(shelf.nearest(vectors[q] as Float32Array, threshold, accept));
  const used = process.cpuUsage(start);
  return { us: (used.user + used.system) / questions.length, answers };
}

/** What one set of vectors is searched as: its dimensions, threshold and layouts. */
interface Searched {
  dimensions: number;
  threshold: number;
  layouts: Layout[];
}

async function measure(
  embedder: Embedder,
  layouts: Layout[],
  texts: string[],
  paired: number,
): Promise<{ identical: boolean; vectors: Float32Array[] }> {
  const started = Date.now();
  const vectors = await embedAll(embedder, texts);
  console.log(`${embedder.id}: ${texts.length} texts embedded in ${Date.now() - started} ms`);
  const searched = {
    dimensions: embedder.dimensions,
    threshold: embedder.defaultThreshold,
    layouts,
  };
  return { identical: compare(searched, vectors, texts.length, paired), vectors };
}

function compare(
  searched: Searched,
  vectors: Float32Array[],
  count: number,
  paired: number,
): boolean {
  const { layouts } = searched;
  const order = shuffled(count);
  let identical = true;
  for (const size of SIZES) {
    const entries = Math.min(size, count - QUESTIONS);
    const held = order.slice(0, entries);
    const others = order.slice(entries, entries + QUESTIONS);
    // The other sentence of a stored pair: a paraphrase or a near miss of something held.
    const partners = held
      .filter((i) => i < paired)
      .slice(0, QUESTIONS)
      .map((i) => i ^ 1);
    const questions = [...others, ...partners];
    const shelves = layouts.map((layout) => {
      const shelf = new VectorShelf<number>(searched.dimensions, layout.lead);
      for (const i of held) shelf.add(i, vectors[i] as Float32Array);
      return shelf;
    });
    const times: number[][] = layouts.map(() => []);
    const answers: (ShelfNearest<number> | null)[][] = [];
    for (let round = 0; round < ROUNDS; round++) {
      shelves.forEach((shelf, k) => {
        const result = searchAll(shelf, vectors, questions, searched.threshold);
        times[k]?.push(result.us);
        answers[k] = result.answers;
      });
    }
    const reference = JSON.stringify(answers[0]);
    const hits = answers[0]?.filter((a) => a !== null).length ?? 0;
    const first = median(times[0] ?? []);
    layouts.forEach((layout, k) => {
      const same = JSON.stringify(answers[k]) === reference;
      identical &&= same;
      const us = median(times[k] ?? []);
      console.log(
        `  ${String(entries).padStart(6)} entries  ${layout.name.padEnd(44)} ${us.toFixed(0).padStart(7)} µs/search  ×${(us / first).toFixed(2).padStart(6)}  hits ${hits}/${questions.length}${same ? '' : '  ANSWERS DIFFER'}`,
      );
    });
  }
  return identical;
}

async function main(): Promise<void> {
  const { texts, paired } = loadTexts();
  console.log(
    `Semantic search, CPU per question (median of ${ROUNDS} alternating rounds; threshold: each embedder's default)`,
  );
  const local = createLocalEmbedder();
  const localRun = await measure(
    local,
    [{ name: 'local: declared (all indexed)', lead: local.denseLeading }],
    texts,
    paired,
  );
  let identical = localRun.identical;
  const model = createModelEmbedder();
  try {
    const modelRun = await measure(
      model,
      [
        { name: 'model: declared (512 dense, 512 indexed)', lead: model.denseLeading },
        { name: 'model: from its first vector (all dense)', lead: undefined },
      ],
      texts,
      paired,
    );
    identical &&= modelRun.identical;
    console.log(
      `the model's part alone, at ${MODEL_SEMANTIC_THRESHOLD} (a dense embedder's vectors):`,
    );
    identical &&= compare(
      {
        dimensions: MODEL_DIMENSIONS,
        threshold: MODEL_SEMANTIC_THRESHOLD,
        layouts: [{ name: 'model part: all dense (scanned)', lead: undefined }],
      },
      modelParts(modelRun.vectors),
      texts.length,
      paired,
    );
  } finally {
    await model.close();
  }
  if (!identical) {
    console.error('the layouts gave different answers');
    process.exitCode = 1;
  }
}

await main();
