import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { CacheHit } from '../cache/cache-store.js';
import type { CachedEmbeddings } from '../cache/embeddings-cache.js';
import type { CacheKeys } from '../cache/scope.js';
import type { CompressionMode } from '../compression/compress-messages.js';
import type { VerifiedKey } from '../keys/key-verifier.js';
import type { LocalSlot } from '../ratelimit/local-slots.js';
import type { LimitState, Ticket } from '../ratelimit/rate-limiter.js';
import type { RequestTrace } from '../runtime/tracing.js';
import type { EmbeddingsAnswer, UpstreamAnswer } from '../upstream/upstream.js';
import type { ChatRequest } from './chat-request.js';
import type { ResponseContext } from './responses/response-shell.js';

/**
 * How a request ended, as the responder saw it. Complete for a JSON answer; for a stream the
 * responder fills in the final fields (and sets `complete`) when the stream ends or the client
 * leaves.
 */
export interface Outcome {
  /** HTTP status the client saw; 499 when it disconnected first. */
  status: number;
  errorCode: string | null;
  /** The answer as one completion (streams assembled), if any part of one arrived. */
  completion: ChatCompletion | null;
  /**
   * `completion` as JSON, when the client received exactly that text (a chat completion answered
   * whole): the interaction row and the cache entry use it instead of serialising it again.
   */
  completionJson?: string;
  provider: string | null;
  upstreamModel: string | null;
  /** Milliseconds from the request's arrival to its first streamed chunk. */
  ttftMs: number | null;
  /** Milliseconds spent waiting on the upstream, retries included. */
  upstreamMs: number | null;
  /** The HTTP status of the last upstream call; null when none was made or it got no answer. */
  upstreamStatus: number | null;
  /** Upstream calls made for the request (retries and fallbacks included); null when none. */
  attempts: number | null;
  /** Milliseconds from arrival to the last byte. */
  latencyMs: number;
  /** True when the answer came from the cache: nothing was spent upstream. */
  fromCache: boolean;
  /**
   * Why the upstream call failed (it answered an error, timed out, could not be reached or cut a
   * stream), in the gateway's own words; null when it did not fail or was not called.
   */
  upstreamFailure: string | null;
  /** Token usage of an answer that is not a completion (embeddings). */
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
  /** What is recorded of an answer that is not a completion (embeddings: no vectors). */
  summary?: unknown;
  /** Tokens a cached answer that is not a completion saved (an embeddings hit). */
  tokensSavedCache?: number | null;
  /** False while a stream is still being sent. */
  complete: boolean;
  /**
   * Called once when a stream that was not complete yet ends (sent, failed or abandoned): the
   * after-response step waits on it instead of wrapping the stream in one more of its own. A
   * promise it returns holds the stream's final piece until it resolves (a concurrency slot's
   * release); it never rejects.
   */
  onComplete?: () => Promise<void> | undefined;
}

/**
 * An upstream call that ended without an answer: what the report and the row say of it. It failed
 * (`reason` says why), or it was stopped because the client left or the gateway's stop began
 * (`reason` null: no upstream failure, but the provider was asked and time was spent on it).
 */
export interface FailedUpstream {
  /** The configured upstream asked last; null when none was. */
  provider: string | null;
  /** Milliseconds spent on the call, retries and waits included. */
  upstreamMs: number | null;
  /** The HTTP status the last call was answered with; null when it got no answer. */
  upstreamStatus: number | null;
  /** Calls made (retries and fallbacks included); 0 when no upstream serves the model. */
  attempts: number;
  /** Why it failed, in the gateway's own words (never the upstream's text); null when it did not. */
  reason: string | null;
}

/** What the cache did for a request, as the `x-tollgate-cache` header says. */
export type CacheStatus = 'hit' | 'semantic-hit' | 'miss' | 'bypass';

/** What the cache stage decided for the after-response step: where a fresh answer is stored. */
export interface CachePlan {
  keys: CacheKeys;
  /** The question's vector, when the lookup made one (the store need not embed again). */
  embedding: Float32Array | null;
  /** The question's numbers, when the lookup read them (the store need not read them again). */
  numbers: string | undefined;
}

/**
 * The typed context every middleware shares. Data only (and the trace's span handle, and the
 * outcome's end-of-stream hook): no promises, no other callbacks, no `any`.
 */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** The client's own sane `x-request-id`, kept beside the gateway's. */
    clientRequestId: string;
    /**
     * The session the request joins, recorded on its row: the conversation or the first response
     * of a `previous_response_id` chain, else the client's `x-tollgate-session-id` header.
     */
    sessionId?: string;
    /** Monotonic time the request arrived. */
    startedAt: number;
    /** Wall-clock time (ms) the request arrived. */
    receivedAt: number;
    apiKey: VerifiedKey;
    /** A verified key refused for lacking the route's scope: named in the access log only. */
    refusedKeyId?: string;
    /**
     * The model the body names, set once it parses as JSON: the row of a request refused before
     * `request` is set still says which model was asked for.
     */
    askedModel?: string;
    /**
     * The route template to report (logs, metrics, spans) when the matched pattern is not the one
     * a client called: `POST /v1/responses/input_tokens` is matched as `/v1/responses/:id`.
     */
    routeTemplate?: string;
    /** The parsed request as chat completions, whichever endpoint it came to. */
    request: ChatRequest;
    /** For `/v1/responses`: the Responses request and the id its answer carries. */
    responses: ResponseContext;
    /** The rate limiter's hold on the key's limits, settled after the response. */
    admission: Ticket;
    /** The key's limits as its answer's x-ratelimit-* headers report them, once they were read. */
    limitState: LimitState;
    /** This process's hold on the key's concurrency, taken before the body is read. */
    slot: LocalSlot;
    /** What the compress stage did to the prompt. */
    compression: { mode: CompressionMode; tokensSaved: number };
    /** Set by the cache stage for every request it saw. */
    cacheStatus: CacheStatus;
    /** The cached answer, when the cache stage found one; the upstream stage then stands aside. */
    cacheHit: CacheHit;
    /** Where to store a fresh answer; absent when it must not be stored. */
    cachePlan: CachePlan;
    /** The upstream's answer (JSON, or a stream whose first chunk has arrived). */
    answer: UpstreamAnswer;
    /** Set by the upstream stages when the call failed; the request then ends with its error. */
    failedUpstream: FailedUpstream;
    /** The upstream's embeddings answer. */
    embeddings: EmbeddingsAnswer;
    /** An embeddings request's cached answer (its exact repeat); the upstream stage stands aside. */
    embeddingsHit: CachedEmbeddings;
    /** Where a fresh embeddings answer is kept for its repeats; absent when it must not be. */
    embeddingsCacheKey: string;
    /** Set by the responder. */
    outcome: Outcome;
    /** True when the after-response step reports the request (access log, metrics) itself. */
    reportedAfter: boolean;
    /** The request's trace (its spans); absent when tracing is off. */
    trace: RequestTrace | undefined;
    /** Response headers gathered by the stages and not written yet (see response-headers.ts). */
    responseHeaders?: Record<string, string> | undefined;
  };
}
