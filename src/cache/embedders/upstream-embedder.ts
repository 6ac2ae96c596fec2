import OpenAI from 'openai';
import { NO_SKIPPED_GUARDS } from '../guards/compare-guard-features.js';
import { DEFAULT_SEMANTIC_THRESHOLD } from '../semantic-decision.js';
import { l2NormaliseInPlace } from '../vector-math.js';
import type { Embedder } from './embedder.js';

/** Settings of an OpenAI-compatible `/v1/embeddings` endpoint. */
export interface UpstreamEmbedderConfig {
  /** Base URL including `/v1`, e.g. `https://api.openai.com/v1`. */
  readonly baseURL: string;
  readonly apiKey: string;
  /** Embedding model name, e.g. `text-embedding-3-small`. */
  readonly model: string;
  /** Length of the vectors the model returns; every response is checked against it. */
  readonly dimensions: number;
  /** Ask the model to shorten its vectors to `dimensions` (text-embedding-3 and later only). */
  readonly requestDimensions?: boolean;
  /** Most texts per request; larger inputs are split. Default 256. */
  readonly maxBatchSize?: number;
  /** Per-request timeout in milliseconds. Default 10 000. */
  readonly timeoutMs?: number;
  /** Retries on connection errors, 408, 429 and 5xx. Default 1. */
  readonly maxRetries?: number;
  /** Replaces the global `fetch` (tests, custom agents). */
  readonly fetch?: typeof fetch;
}

/**
 * Creates an embedder backed by an OpenAI-compatible `/v1/embeddings` endpoint. Vectors are
 * requested as floats (not every compatible server speaks base64) and L2-normalised here,
 * since not every model returns unit vectors. Empty texts are not sent (the API rejects them)
 * and get a zero vector, which matches nothing.
 */
export function createUpstreamEmbedder(config: UpstreamEmbedderConfig): Embedder {
  const client = new OpenAI({
    apiKey: config.apiKey,
    baseURL: config.baseURL,
    maxRetries: config.maxRetries ?? 1,
    timeout: config.timeoutMs ?? 10_000,
    ...(config.fetch === undefined ? {} : { fetch: config.fetch }),
  });
  const batchSize = config.maxBatchSize ?? 256;
  const { model, dimensions } = config;

  async function embedBatch(
    texts: readonly string[],
    signal?: AbortSignal,
  ): Promise<Float32Array[]> {
    const response = await client.embeddings.create(
      {
        model,
        input: [...texts],
        encoding_format: 'float',
        ...(config.requestDimensions === true ? { dimensions } : {}),
      },
      signal === undefined ? {} : { signal },
    );
    if (response.data.length !== texts.length) {
      throw new Error(
        `upstream embeddings: sent ${texts.length} inputs, received ${response.data.length} vectors`,
      );
    }
    const vectors: Float32Array[] = new Array(texts.length);
    for (const item of response.data) {
      if (item.embedding.length !== dimensions) {
        throw new Error(
          `upstream embeddings: model ${model} returned ${item.embedding.length} dimensions, expected ${dimensions}`,
        );
      }
      if (!Number.isInteger(item.index) || item.index < 0 || item.index >= texts.length) {
        throw new Error(`upstream embeddings: vector index ${item.index} is out of range`);
      }
      vectors[item.index] = l2NormaliseInPlace(Float32Array.from(item.embedding));
    }
    return vectors;
  }

  return {
    id: `upstream:${model}:${dimensions}`,
    dimensions,
    // Not measurable offline: the local embedder's threshold until an operator measures their model.
    defaultThreshold: DEFAULT_SEMANTIC_THRESHOLD,
    // Not measured here (no provider is reachable): every check runs.
    skippedGuards: NO_SKIPPED_GUARDS,
    async embed(texts, signal) {
      signal?.throwIfAborted();
      const out: Float32Array[] = texts.map(() => new Float32Array(dimensions));
      const pending: number[] = [];
      texts.forEach((text, i) => {
        if (text.trim() !== '') pending.push(i);
      });
      for (let start = 0; start < pending.length; start += batchSize) {
        const indexes = pending.slice(start, start + batchSize);
        const vectors = await embedBatch(
          indexes.map((i) => texts[i] ?? ''),
          signal,
        );
        indexes.forEach((target, k) => {
          const vector = vectors[k];
          if (vector === undefined) throw new Error(`upstream embeddings: vector ${k} is missing`);
          out[target] = vector;
        });
      }
      return out;
    },
  };
}
