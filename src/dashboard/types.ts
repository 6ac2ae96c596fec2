/** One group's (or the totals') numbers in GET /analytics/summary. */
export interface Metrics {
  requests: number;
  errors: number;
  error_rate: number;
  cache_hits: number;
  cache_hit_rate: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  ttft_p50_ms: number | null;
  ttft_p95_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  /** Requests whose token counts are the gateway's estimate (a stream cut short). */
  usage_estimated_requests: number;
  /** Their tokens: the part of prompt_tokens + completion_tokens that is estimated. */
  usage_estimated_tokens: number;
  tokens_saved_cache: number;
  tokens_saved_compression: number;
  estimated_cost_usd: number;
  estimated_savings_usd: number;
  cached_tokens: number;
  reasoning_tokens: number;
  unpriced_requests: number;
  savings: Savings;
}

/** The four kinds of saving in a summary: Tollgate's cache, compression, the provider's cache. */
export interface Savings {
  exact_cache: { requests: number; tokens: number; usd: number };
  semantic_cache: { requests: number; tokens: number; usd: number };
  compression: { tokens: number; usd: number };
  provider_cache: { tokens: number; usd: number };
  tollgate_usd: number;
  total_usd: number;
}

/** GET /analytics/summary. */
export interface Summary {
  group_by: string;
  /** The filter as applied; `tenant_id` is null only for an admin key reading every tenant. */
  filter: { tenant_id: string | null };
  prices_as_of: string;
  data: (Metrics & { group: string | null })[];
  totals: Metrics;
}

/** One row of GET /analytics/interactions. */
export interface Interaction {
  id: string;
  created_at: string;
  tenant_id: string;
  key_id: string;
  end_user: string | null;
  model: string;
  status: number;
  cache_status: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  /** True when the token counts are the gateway's estimate (a stream cut short), not the provider's. */
  usage_estimated: boolean;
  latency_ms: number;
}

/** GET /analytics/interactions/:id; content fields only for a key with analytics:content. */
export interface InteractionDetail extends Interaction {
  content?: { request: unknown; response: unknown } | null;
  content_status?: string;
}

/** A page of a list endpoint. */
export interface Page<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

/** One row of GET /analytics/sessions. */
export interface Session {
  id: string;
  tenant_id: string;
  first_at: string;
  last_at: string;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  estimated_cost_usd: number;
  unpriced_requests: number;
  models: string[];
  key_ids: string[];
  end_users: string[];
}

/** One interaction of a session's thread; content fields only for a key with analytics:content. */
export interface ThreadEntry extends InteractionDetail {
  endpoint: string | null;
}

/** GET /analytics/sessions/:id: the session and a page of its interactions, oldest first. */
export interface SessionThread extends Session, Page<ThreadEntry> {}
