import type { InteractionRow } from '../storage/schema.js';

/** The metadata fields of an interaction as the analytics API shows them. */
export type InteractionMetadataSource = Omit<InteractionRow, 'requestEnc' | 'responseEnc'> & {
  hasContent: boolean;
};

/** Column order of the JSON rows and of the CSV export. */
export const INTERACTION_FIELDS = [
  'id',
  'client_request_id',
  'session_id',
  'endpoint',
  'created_at',
  'tenant_id',
  'key_id',
  'end_user',
  'model',
  'upstream_model',
  'provider',
  'status',
  'error_code',
  'cache_status',
  'cache_similarity',
  'stream',
  'prompt_tokens',
  'completion_tokens',
  'tokens_saved_compression',
  'compression_mode',
  'prompt_tokens_before_compression',
  'tokens_saved_cache',
  'tokens_saved_cache_completion',
  'cached_tokens',
  'reasoning_tokens',
  'usage_estimated',
  'latency_ms',
  'upstream_ms',
  'ttft_ms',
  'has_content',
] as const;

/** One metadata field name. */
export type InteractionField = (typeof INTERACTION_FIELDS)[number];

/** An interaction's metadata in snake_case, never its ciphertext. */
export type InteractionJson = Record<InteractionField, string | number | boolean | null>;

/** Renders an interaction's metadata for the API and the exports. */
export function interactionJson(row: InteractionMetadataSource): InteractionJson {
  return {
    id: row.id,
    client_request_id: row.clientRequestId,
    session_id: row.sessionId,
    endpoint: row.endpoint,
    created_at: row.createdAt.toISOString(),
    tenant_id: row.tenantId,
    key_id: row.keyId,
    end_user: row.endUser,
    model: row.model,
    upstream_model: row.upstreamModel,
    provider: row.provider,
    status: row.status,
    error_code: row.errorCode,
    cache_status: row.cacheStatus,
    cache_similarity: row.cacheSimilarity,
    stream: row.stream,
    prompt_tokens: row.promptTokens,
    completion_tokens: row.completionTokens,
    tokens_saved_compression: row.tokensSavedCompression,
    compression_mode: row.compressionMode,
    prompt_tokens_before_compression: row.promptTokensBeforeCompression,
    tokens_saved_cache: row.tokensSavedCache,
    tokens_saved_cache_completion: row.tokensSavedCacheCompletion,
    cached_tokens: row.cachedTokens,
    reasoning_tokens: row.reasoningTokens,
    usage_estimated: row.usageEstimated,
    latency_ms: row.latencyMs,
    upstream_ms: row.upstreamMs,
    ttft_ms: row.ttftMs,
    has_content: row.hasContent,
  };
}
