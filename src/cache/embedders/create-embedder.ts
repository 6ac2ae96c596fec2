import type { FetchFn } from '../../upstream/pooled-fetch.js';
import type { Embedder } from './embedder.js';
import { createLocalEmbedder } from './local-embedder.js';
import { createModelEmbedder } from './model-embedder.js';
import { createUpstreamEmbedder } from './upstream-embedder.js';

/** Which embedder the semantic cache uses; base URL and key default to the upstream's. */
export type EmbeddingsConfig =
  | { kind: 'local' }
  | { kind: 'model' }
  | {
      kind: 'upstream';
      model: string;
      dimensions: number;
      baseURL: string;
      apiKey: string | undefined;
    };

/** The upstream embedder is on the request path of a cache miss: it must answer fast or not at all. */
const UPSTREAM_EMBEDDING_TIMEOUT_MS = 2_000;

/** Builds the configured embedder of the semantic cache. */
export function createEmbedder(config: EmbeddingsConfig, fetch?: FetchFn): Embedder {
  if (config.kind === 'local') return createLocalEmbedder();
  if (config.kind === 'model') return createModelEmbedder();
  return createUpstreamEmbedder({
    baseURL: config.baseURL,
    apiKey: config.apiKey ?? '',
    model: config.model,
    dimensions: config.dimensions,
    timeoutMs: UPSTREAM_EMBEDDING_TIMEOUT_MS,
    maxRetries: 0,
    ...(fetch === undefined ? {} : { fetch }),
  });
}
