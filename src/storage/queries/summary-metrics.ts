/**
 * What an analytics summary answers, and how a row of its query becomes that answer. The query
 * itself (rollups, raw rows, price lookup) is in analytics-summary.ts.
 */

/** Aggregates over a set of interactions. Money is an estimate from the price table. */
export interface SummaryMetrics {
  requests: number;
  errors: number;
  cacheHits: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  ttftP50Ms: number | null;
  ttftP95Ms: number | null;
  promptTokens: number;
  completionTokens: number;
  /** Tokens the cache saved: each hit's cached answer total (what the upstream would have billed). */
  tokensSavedCache: number;
  /** The part of cacheHits, tokensSavedCache and savingsCacheUsd that semantic hits made. */
  semanticHits: number;
  tokensSavedSemantic: number;
  savingsSemanticUsd: number;
  tokensSavedCompression: number;
  /** Prompt tokens the provider served from its own prompt cache (billed at its cached rate). */
  cachedTokens: number;
  /** Completion tokens spent reasoning (included in completionTokens). */
  reasoningTokens: number;
  /** Requests whose token counts are the gateway's estimate (`usage_estimated`), not the provider's. */
  usageEstimatedRequests: number;
  /** Their prompt and completion tokens: the part of promptTokens + completionTokens estimated. */
  usageEstimatedTokens: number;
  estimatedCostUsd: number;
  savingsCacheUsd: number;
  savingsCompressionUsd: number;
  /** What the provider's prompt cache took off the bill: cached tokens × (input − cached input). */
  savingsProviderCacheUsd: number;
  /** Requests whose model has no price: left out of every money figure. */
  unpricedRequests: number;
}

/** Per-group metrics and the totals over every group. */
export interface Summary {
  groups: (SummaryMetrics & { group: string | null })[];
  totals: SummaryMetrics;
}

/** One row of the summary query, as the database returns it (counts may arrive as strings). */
export interface RawSummaryRow {
  grp: string | null;
  requests: number;
  errors: number;
  cache_hits: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  ttft_p50_ms: number | null;
  ttft_p95_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  tokens_saved_cache: number;
  semantic_hits: number;
  tokens_saved_semantic: number;
  savings_semantic_usd: number;
  tokens_saved_compression: number;
  cached_tokens: number;
  reasoning_tokens: number;
  usage_estimated_requests: number;
  usage_estimated_tokens: number;
  estimated_cost_usd: number;
  savings_cache_usd: number;
  savings_compression_usd: number;
  savings_provider_cache_usd: number;
  unpriced_requests: number;
}

/** A summary row as metrics, every count a number. */
export function metricsOfRow(r: RawSummaryRow): SummaryMetrics {
  return {
    requests: Number(r.requests),
    errors: Number(r.errors),
    cacheHits: Number(r.cache_hits),
    latencyP50Ms: r.latency_p50_ms,
    latencyP95Ms: r.latency_p95_ms,
    ttftP50Ms: r.ttft_p50_ms,
    ttftP95Ms: r.ttft_p95_ms,
    promptTokens: Number(r.prompt_tokens),
    completionTokens: Number(r.completion_tokens),
    tokensSavedCache: Number(r.tokens_saved_cache),
    semanticHits: Number(r.semantic_hits),
    tokensSavedSemantic: Number(r.tokens_saved_semantic),
    savingsSemanticUsd: Number(r.savings_semantic_usd),
    tokensSavedCompression: Number(r.tokens_saved_compression),
    cachedTokens: Number(r.cached_tokens),
    reasoningTokens: Number(r.reasoning_tokens),
    usageEstimatedRequests: Number(r.usage_estimated_requests),
    usageEstimatedTokens: Number(r.usage_estimated_tokens),
    estimatedCostUsd: Number(r.estimated_cost_usd),
    savingsCacheUsd: Number(r.savings_cache_usd),
    savingsCompressionUsd: Number(r.savings_compression_usd),
    savingsProviderCacheUsd: Number(r.savings_provider_cache_usd),
    unpricedRequests: Number(r.unpriced_requests),
  };
}

/** The metrics of no interactions at all. */
export const EMPTY_METRICS: SummaryMetrics = metricsOfRow({
  grp: null,
  requests: 0,
  errors: 0,
  cache_hits: 0,
  latency_p50_ms: null,
  latency_p95_ms: null,
  ttft_p50_ms: null,
  ttft_p95_ms: null,
  prompt_tokens: 0,
  completion_tokens: 0,
  tokens_saved_cache: 0,
  semantic_hits: 0,
  tokens_saved_semantic: 0,
  savings_semantic_usd: 0,
  tokens_saved_compression: 0,
  cached_tokens: 0,
  reasoning_tokens: 0,
  usage_estimated_requests: 0,
  usage_estimated_tokens: 0,
  estimated_cost_usd: 0,
  savings_cache_usd: 0,
  savings_compression_usd: 0,
  savings_provider_cache_usd: 0,
  unpriced_requests: 0,
});
