import type { PriceTable } from '../analytics/prices.js';
import type { SessionSummary } from '../storage/queries/analytics-sessions.js';
import type { Summary, SummaryMetrics } from '../storage/queries/summary-metrics.js';

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** One group's (or the totals') numbers as GET /analytics/summary answers them. */
export type MetricsJson = ReturnType<typeof metricsJson>;

/** One group's (or the totals') metrics as the summary route shows them. */
export function metricsJson(m: SummaryMetrics) {
  return {
    requests: m.requests,
    errors: m.errors,
    error_rate: m.requests === 0 ? 0 : m.errors / m.requests,
    cache_hits: m.cacheHits,
    cache_hit_rate: m.requests === 0 ? 0 : m.cacheHits / m.requests,
    latency_p50_ms: m.latencyP50Ms,
    latency_p95_ms: m.latencyP95Ms,
    ttft_p50_ms: m.ttftP50Ms,
    ttft_p95_ms: m.ttftP95Ms,
    prompt_tokens: m.promptTokens,
    completion_tokens: m.completionTokens,
    // The part of those tokens that is the gateway's estimate (streams cut before their usage).
    usage_estimated_requests: m.usageEstimatedRequests,
    usage_estimated_tokens: m.usageEstimatedTokens,
    tokens_saved_cache: m.tokensSavedCache,
    tokens_saved_compression: m.tokensSavedCompression,
    estimated_cost_usd: round(m.estimatedCostUsd, 6),
    estimated_savings_usd: round(m.savingsCacheUsd + m.savingsCompressionUsd, 6),
    estimated_savings_cache_usd: round(m.savingsCacheUsd, 6),
    estimated_savings_compression_usd: round(m.savingsCompressionUsd, 6),
    cached_tokens: m.cachedTokens,
    reasoning_tokens: m.reasoningTokens,
    estimated_savings_provider_cache_usd: round(m.savingsProviderCacheUsd, 6),
    unpriced_requests: m.unpricedRequests,
    savings: savingsJson(m),
  };
}

/**
 * The four kinds of saving side by side: answers from Tollgate's cache (exact and semantic hits),
 * tokens compression removed, and prompt tokens the provider served from its own cache. Money is
 * estimated from the price table and leaves out unpriced requests.
 */
function savingsJson(m: SummaryMetrics) {
  const tollgateUsd = m.savingsCacheUsd + m.savingsCompressionUsd;
  return {
    exact_cache: {
      requests: m.cacheHits - m.semanticHits,
      tokens: m.tokensSavedCache - m.tokensSavedSemantic,
      usd: round(m.savingsCacheUsd - m.savingsSemanticUsd, 6),
    },
    semantic_cache: {
      requests: m.semanticHits,
      tokens: m.tokensSavedSemantic,
      usd: round(m.savingsSemanticUsd, 6),
    },
    compression: { tokens: m.tokensSavedCompression, usd: round(m.savingsCompressionUsd, 6) },
    provider_cache: { tokens: m.cachedTokens, usd: round(m.savingsProviderCacheUsd, 6) },
    tollgate_usd: round(tollgateUsd, 6),
    total_usd: round(tollgateUsd + m.savingsProviderCacheUsd, 6),
  };
}

/** The summary route's body. */
export function summaryJson(
  summary: Summary,
  groupBy: string,
  filter: Record<string, unknown>,
  prices: PriceTable,
) {
  return {
    object: 'analytics.summary',
    group_by: groupBy,
    filter,
    prices_as_of: prices.asOf,
    data: summary.groups.map((g) => ({ group: g.group, ...metricsJson(g) })),
    totals: metricsJson(summary.totals),
  };
}

/** One session as the sessions routes show it. */
export function sessionJson(s: SessionSummary) {
  return {
    object: 'analytics.session',
    id: s.sessionId,
    tenant_id: s.tenantId,
    first_at: s.firstAt.toISOString(),
    last_at: s.lastAt.toISOString(),
    requests: s.requests,
    errors: s.errors,
    prompt_tokens: s.promptTokens,
    completion_tokens: s.completionTokens,
    estimated_cost_usd: round(s.estimatedCostUsd, 6),
    unpriced_requests: s.unpricedRequests,
    models: s.models,
    key_ids: s.keyIds,
    end_users: s.endUsers,
  };
}
