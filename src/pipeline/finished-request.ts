import type { Context } from 'hono';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { CacheHit } from '../cache/cache-store.js';
import type { ChatRequest, Endpoint } from '../http/chat-request.js';
import type { AppEnv, CachePlan, CacheStatus, FailedUpstream, Outcome } from '../http/env.js';
import { ClientClosedError, GatewayError } from '../http/errors.js';
import type { VerifiedKey } from '../keys/key-verifier.js';
import type { LocalSlot } from '../ratelimit/local-slots.js';
import type { Ticket } from '../ratelimit/rate-limiter.js';
import type { InteractionRecord } from '../recording/interaction-row.js';
import { type EstimatedUsage, estimatedUsage } from '../recording/usage-estimate.js';

/** What the after-response step needs of a request, read from the context once it is answered. */
export interface FinishedRequest {
  id: string;
  clientRequestId: string | undefined;
  sessionId: string | undefined;
  receivedAt: number;
  startedAt: number;
  /** The endpoint the route serves: known before the body is read. */
  endpoint: Endpoint;
  /** Absent when the request was refused before its key was known. */
  key: VerifiedKey | undefined;
  /** The model the body named, when it parsed as JSON (see `request` for a request read whole). */
  askedModel: string | undefined;
  request: ChatRequest | undefined;
  admission: Ticket | undefined;
  slot: LocalSlot | undefined;
  compression: { mode: string; tokensSaved: number } | undefined;
  cacheStatus: CacheStatus | undefined;
  cacheHit: CacheHit | undefined;
  cachePlan: CachePlan | undefined;
}

/** Reads the finished request's facts from the context of a request to `endpoint`. */
export function finishedRequest(c: Context<AppEnv>, endpoint: Endpoint): FinishedRequest {
  return {
    id: c.get('requestId'),
    clientRequestId: c.get('clientRequestId'),
    sessionId: c.get('sessionId'),
    receivedAt: c.get('receivedAt'),
    startedAt: c.get('startedAt'),
    endpoint,
    key: c.get('apiKey'),
    askedModel: c.get('askedModel'),
    request: c.get('request'),
    admission: c.get('admission'),
    slot: c.get('slot'),
    compression: c.get('compression'),
    cacheStatus: c.get('cacheStatus'),
    cacheHit: c.get('cacheHit'),
    cachePlan: c.get('cachePlan'),
  };
}

/**
 * The outcome of a request that ended with an error before any answer was sent: the gateway's own
 * refusal, or — when `failed` says the upstream call failed — the upstream's failure, with the
 * provider and the time spent on it. A refusal that came after the upstream answered (`answered`:
 * a turn that could not join its conversation) keeps that answer, so its tokens are counted.
 */
export function outcomeOfError(
  error: Error,
  latencyMs: number,
  failed: FailedUpstream | undefined,
  answered?: Outcome,
): Outcome {
  const closed = error instanceof ClientClosedError;
  const gatewayError = error instanceof GatewayError ? error : null;
  return {
    status: closed ? 499 : (gatewayError?.status ?? 500),
    errorCode: closed ? 'client_closed' : (gatewayError?.code ?? 'internal_error'),
    completion: answered?.completion ?? null,
    provider: answered?.provider ?? failed?.provider ?? null,
    upstreamModel: answered?.upstreamModel ?? null,
    ttftMs: null,
    upstreamMs: answered?.upstreamMs ?? failed?.upstreamMs ?? null,
    upstreamStatus: answered?.upstreamStatus ?? failed?.upstreamStatus ?? null,
    attempts: answered?.attempts ?? (failed && failed.attempts > 0 ? failed.attempts : null),
    latencyMs,
    fromCache: answered?.fromCache ?? false,
    upstreamFailure: failed?.reason ?? null,
    complete: true,
  };
}

/** Each streamed answer's own count, made once for the settle and the row alike. */
const estimates = new WeakMap<Outcome, EstimatedUsage>();

/**
 * The gateway's count of what a streamed answer that ended without the provider's usage chunk
 * spent (the prompt as sent upstream and the part streamed), or null when the provider's usage is
 * known, nothing was streamed, or the answer came from the cache. Counted on first use, which
 * comes after the response. An embeddings answer without usage has its input's count.
 */
export function usageEstimate(
  outcome: Outcome,
  request: ChatRequest | undefined,
): EstimatedUsage | null {
  if (request?.endpoint === 'embeddings') return embeddingsEstimate(outcome, request);
  const completion = outcome.completion;
  if (outcome.fromCache || !request?.stream || !completion) return null;
  if (completion.usage || outcome.usage) return null;
  let estimate = estimates.get(outcome);
  if (estimate === undefined) {
    estimate = estimatedUsage(request.body, completion, request.model);
    estimates.set(outcome, estimate);
  }
  return estimate;
}

/**
 * The gateway's count of an embeddings answer that came without the provider's usage (several
 * OpenAI-compatible servers send none): its input, counted already for the TPM reservation, is
 * all an embedding spends.
 */
function embeddingsEstimate(outcome: Outcome, request: ChatRequest): EstimatedUsage | null {
  const tokens = request.reserveTokens;
  if (outcome.fromCache || outcome.status !== 200 || outcome.usage || tokens === undefined) {
    return null;
  }
  return { prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens };
}

/** Whether charging the key for this answer means counting its tokens (see tokensUsed). */
export function chargeNeedsCount(outcome: Outcome): boolean {
  return outcome.status === 499 && outcome.completion !== null && !outcome.fromCache;
}

/** Tokens to charge the key once the answer is known. */
export function tokensUsed(
  outcome: Outcome,
  reserved: number,
  request: ChatRequest | undefined,
): number {
  if (outcome.fromCache) return 0;
  const usage = outcome.completion?.usage ?? outcome.usage;
  if (usage) return usage.total_tokens;
  // A stream the client left (or stalled) before the usage chunk: the provider billed the prompt
  // and what it generated until the abort reached it, so the key is charged the gateway's count
  // of both, as the row records it. Without a count, the reservation stands.
  if (chargeNeedsCount(outcome)) return usageEstimate(outcome, request)?.total_tokens ?? reserved;
  // An embeddings answer without usage spent its input all the same: the key is charged the
  // gateway's count (no counting here, it is the reservation's), or TPM would not limit it.
  if (request?.endpoint === 'embeddings')
    return embeddingsEstimate(outcome, request)?.total_tokens ?? 0;
  return 0;
}

/** Answers worth keeping: complete, successful, and with every choice the request asked for. */
export function storableCompletion(outcome: Outcome, request: ChatRequest): ChatCompletion | null {
  const completion = outcome.completion;
  if (outcome.status !== 200 || outcome.errorCode !== null || !completion) return null;
  if (outcome.fromCache || completion.choices.length !== request.n) return null;
  // Truncated (`length`), filtered or unfinished answers would be replayed as if they were whole.
  const whole = completion.choices.every(
    (c) =>
      c.finish_reason === 'stop' ||
      c.finish_reason === 'tool_calls' ||
      c.finish_reason === 'function_call',
  );
  return whole ? completion : null;
}

/** The interaction row's facts: the request as the client sent it and how it ended. */
export function interactionRecord(
  f: FinishedRequest & { key: VerifiedKey },
  outcome: Outcome,
  errorBody: unknown,
): InteractionRecord {
  const { request, cacheHit } = f;
  // A cache hit spent no tokens; what it saved is in tokensSavedCache.
  const usage = outcome.fromCache ? null : (outcome.completion?.usage ?? outcome.usage ?? null);
  // A stream cut short before the provider's usage chunk still spent its prompt and the part
  // streamed: counted here, after the response, and marked as the gateway's estimate.
  const estimate = usage === null ? usageEstimate(outcome, request) : null;
  return {
    id: f.id,
    clientRequestId: f.clientRequestId ?? null,
    sessionId: f.sessionId ?? null,
    receivedAt: new Date(f.receivedAt),
    tenantId: f.key.tenantId,
    keyId: f.key.id,
    endUser: request?.user ?? null,
    // A refused request keeps the model its body named, if it got as far as naming one.
    model: request?.model ?? f.askedModel ?? null,
    endpoint: f.endpoint,
    stream: request?.stream ?? false,
    request: request?.clientBody ?? request?.body ?? null,
    // The client's bytes while nothing changed the body (a translated request has none).
    requestJson: request?.clientBody ? null : (request?.rawBody ?? null),
    cacheStatus: f.cacheStatus ?? null,
    cacheSimilarity: cacheHit?.similarity ?? null,
    // What the upstream would have billed again: the cached answer's own total.
    tokensSavedCache: cacheHit
      ? (cacheHit.completion.usage?.total_tokens ?? null)
      : (outcome.tokensSavedCache ?? null),
    tokensSavedCacheCompletion: cacheHit
      ? (cacheHit.completion.usage?.completion_tokens ?? null)
      : null,
    compression: f.compression ?? null,
    upstreamModel: outcome.upstreamModel,
    provider: outcome.provider,
    status: outcome.status,
    errorCode: outcome.errorCode,
    usage: usage ?? estimate,
    usageEstimated: usage === null && estimate !== null,
    latencyMs: outcome.latencyMs,
    upstreamMs: outcome.upstreamMs,
    ttftMs: outcome.ttftMs,
    response: errorBody ?? outcome.completion ?? outcome.summary ?? null,
    responseJson: errorBody == null && outcome.completion ? (outcome.completionJson ?? null) : null,
  };
}
