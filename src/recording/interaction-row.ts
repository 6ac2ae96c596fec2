import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { NewInteraction } from '../storage/schema.js';
import { MAX_MODEL_CHARS } from '../storage/schema.js';

/** Everything known about a finished request, before encryption. */
export interface InteractionRecord {
  id: string;
  /** The client's own request id, if it sent a sane one. */
  clientRequestId: string | null;
  /** The session the request joined (conversation, response chain or the client's header). */
  sessionId: string | null;
  /** Wall-clock time the request arrived. */
  receivedAt: Date;
  tenantId: string;
  keyId: string;
  endUser: string | null;
  model: string | null;
  upstreamModel: string | null;
  provider: string | null;
  status: number;
  errorCode: string | null;
  cacheStatus: string | null;
  cacheSimilarity: number | null;
  /** Which OpenAI endpoint the request came to. */
  endpoint: string | null;
  stream: boolean;
  usage: ChatCompletion['usage'] | null;
  /** True when `usage` is the gateway's own count (see usage-estimate.ts), not the provider's. */
  usageEstimated?: boolean;
  /** What prompt compression did, when the request got that far. */
  compression: { mode: string; tokensSaved: number } | null;
  /** On a cache hit, the tokens the cached answer would have cost upstream. */
  tokensSavedCache: number | null;
  /** The completion tokens of tokensSavedCache (priced at the output rate), when known. */
  tokensSavedCacheCompletion?: number | null;
  latencyMs: number;
  upstreamMs: number | null;
  ttftMs: number | null;
  /** The request body (messages and parameters); null when it could not be parsed. */
  request: unknown;
  /** `request` as JSON when its text is at hand (the client's own bytes): not serialised again. */
  requestJson?: string | null;
  /** The answer (completion, assembled stream, or error body); null when there was none. */
  response: unknown;
  /** `response` as JSON when its text is at hand (what the client received): not serialised again. */
  responseJson?: string | null;
}

/**
 * Text as a text column can hold it: PostgreSQL refuses NUL, which a client may send (in `user`,
 * say), so it becomes U+FFFD. The exact text is in the encrypted request.
 */
function storableText(value: string | null): string | null {
  return value?.includes('\u0000') ? value.replaceAll('\u0000', '\ufffd') : value;
}

/**
 * A model name as the rollups can index it: the request's is already at most MAX_MODEL_CHARS, and
 * one an upstream answers with is cut to that length.
 */
function storableModel(value: string | null): string | null {
  return storableText(value === null ? null : value.slice(0, MAX_MODEL_CHARS));
}

/** The largest count a 32-bit integer column holds. */
const MAX_STORED_COUNT = 2 ** 31 - 1;

/** A token count as an integer column can hold it; anything else an upstream sends is unknown. */
function storableCount(value: unknown): number | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  const count = Math.round(value);
  // A negative count, or one past what a column holds, is no count at all: unknown, not a number
  // the analytics would add up.
  return count >= 0 && count <= MAX_STORED_COUNT ? count : null;
}

/** A field of an object the upstream sent, if it is one. */
function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, name) : undefined;
}

/**
 * The provider's usage details: prompt tokens served from its prompt cache, and completion tokens
 * spent reasoning. Absent details are unknown (null), not zero.
 */
export function usageDetails(usage: unknown): {
  cachedTokens: number | null;
  reasoningTokens: number | null;
} {
  return {
    cachedTokens: storableCount(field(field(usage, 'prompt_tokens_details'), 'cached_tokens')),
    reasoningTokens: storableCount(
      field(field(usage, 'completion_tokens_details'), 'reasoning_tokens'),
    ),
  };
}

/** JSON of a recorded value; null when there is nothing to store. */
export function jsonOf(value: unknown): string | null {
  return value === null ? null : (JSON.stringify(value) ?? null);
}

/** A hit's saved completion tokens: a count within its saved total, else unknown. */
function savedCompletion(r: InteractionRecord): number | null {
  const total = storableCount(r.tokensSavedCache);
  const completion = storableCount(r.tokensSavedCacheCompletion);
  return total !== null && completion !== null && completion <= total ? completion : null;
}

/** A count of part of `total`, at most `total` when that is known. */
function partOf(part: number | null, total: number | null): number | null {
  return part !== null && total !== null && part > total ? total : part;
}

/** The row's metadata, its ciphertext columns still empty. */
export function metadataRow(r: InteractionRecord): NewInteraction {
  const promptTokens = storableCount(r.usage?.prompt_tokens);
  const completionTokens = storableCount(r.usage?.completion_tokens);
  const details = usageDetails(r.usage);
  // Parts of a total never exceed it (a provider's slip would price the rest below zero); the
  // metrics cap them the same way.
  const cachedTokens = partOf(details.cachedTokens, promptTokens);
  const reasoningTokens = partOf(details.reasoningTokens, completionTokens);
  return {
    id: r.id,
    clientRequestId: r.clientRequestId,
    sessionId: storableText(r.sessionId),
    createdAt: r.receivedAt,
    tenantId: r.tenantId,
    keyId: r.keyId,
    endUser: storableText(r.endUser),
    model: storableModel(r.model),
    upstreamModel: storableModel(r.upstreamModel),
    provider: storableText(r.provider),
    status: r.status,
    errorCode: storableText(r.errorCode),
    cacheStatus: r.cacheStatus,
    cacheSimilarity: r.cacheSimilarity,
    endpoint: r.endpoint,
    stream: r.stream,
    promptTokens,
    completionTokens,
    tokensSavedCompression: storableCount(r.compression?.tokensSaved),
    compressionMode: r.compression?.mode ?? null,
    promptTokensBeforeCompression:
      promptTokens !== null && r.compression
        ? storableCount(promptTokens + r.compression.tokensSaved)
        : null,
    tokensSavedCache: storableCount(r.tokensSavedCache),
    tokensSavedCacheCompletion: savedCompletion(r),
    cachedTokens,
    reasoningTokens,
    usageEstimated: r.usageEstimated === true && r.usage !== null,
    latencyMs: r.latencyMs,
    upstreamMs: r.upstreamMs,
    ttftMs: r.ttftMs,
    requestEnc: null,
    responseEnc: null,
  };
}
