import type { Context } from 'hono';
import { parseCacheControl } from '../cache/cache-control.js';
import type { EmbeddingsCache } from '../cache/embeddings-cache.js';
import { embeddingsCacheKey } from '../cache/embeddings-cache.js';
import { vectorToBytes } from '../cache/vector-bytes.js';
import { countTokens } from '../compression/token-count.js';
import { clientLink } from '../http/client-link.js';
import { parseEmbeddingsRequest } from '../http/embeddings-request.js';
import type { AppEnv, CacheStatus, Outcome } from '../http/env.js';
import { requestHeader } from '../http/incoming.js';
import { parseJsonBody } from '../http/json-body.js';
import { readBodyText } from '../http/read-body.js';
import { answerWith, JSON_HEADERS, setResponseHeader } from '../http/response-headers.js';
import type { Clock } from '../runtime/clock.js';
import { isRecord } from '../runtime/is-record.js';
import { SpanKind } from '../runtime/tracing.js';
import type { Upstream } from '../upstream/upstream.js';
import { noteAskedModel } from './asked-model.js';
import type { ParseDeps } from './parse-chat.js';
import { checkModel } from './parse-chat.js';
import { showRefundedReservation } from './rate-limit.js';
import type { Stage } from './stage.js';
import { endpointAttributes, failedCall, failUpstreamSpan } from './upstream.js';

/**
 * Reads an embeddings request, checks the key may use the model, and counts its input tokens for
 * the TPM reservation (texts with the model's tokenizer, token arrays by length).
 */
export function parseEmbeddings(deps: ParseDeps) {
  return async function parseEmbeddings(c) {
    const text = await readBodyText(c, deps.config.maxBodyBytes, deps.config.bodyTimeoutMs);
    const json = parseJsonBody(text);
    noteAskedModel(c, json);
    const parsed = parseEmbeddingsRequest(json);
    checkModel(c.get('apiKey'), parsed.model, deps.upstream);
    let tokens = parsed.tokenInputs;
    for (const t of parsed.texts) tokens += countTokens(t, parsed.model);
    c.set('request', {
      body: parsed.body,
      endpoint: 'embeddings',
      rawBody: null,
      model: parsed.model,
      messages: [],
      stream: false,
      includeUsage: false,
      user: parsed.user,
      maxTokens: null,
      n: 1,
      reserveTokens: tokens,
    });
  } satisfies Stage;
}

/**
 * Answers an exact repeat of an embeddings request from the tenant's cache (no upstream call,
 * nothing billed), and tells the responder where to keep a fresh answer. Honours
 * `Cache-Control` (`no-cache`, `no-store`, `max-age`) and the key's cache setting, as chat does.
 */
export function embeddingsCache(deps: { embeddingsCache: EmbeddingsCache; clock: Clock }) {
  return function embeddingsCache(c) {
    const key = c.get('apiKey');
    const directives = parseCacheControl(requestHeader(c, 'cache-control'));
    const mark = (status: CacheStatus) => {
      c.set('cacheStatus', status);
      setResponseHeader(c, 'x-tollgate-cache', status);
    };
    if (
      !deps.embeddingsCache.enabled ||
      !key.cacheEnabled ||
      (directives.noCache && directives.noStore)
    ) {
      mark('bypass');
      return;
    }
    const cacheKey = embeddingsCacheKey(key.tenantId, c.get('request').body);
    if (!directives.noCache) {
      const now = deps.clock.now();
      const hit = deps.embeddingsCache.get(cacheKey, directives.maxAgeMs, now);
      if (hit) {
        mark('hit');
        setResponseHeader(c, 'x-tollgate-cache-similarity', '1.0000');
        setResponseHeader(c, 'age', String(Math.max(0, Math.floor((now - hit.createdAt) / 1000))));
        c.set('embeddingsHit', hit);
        return;
      }
    }
    mark(directives.noCache ? 'bypass' : 'miss');
    if (!directives.noStore) c.set('embeddingsCacheKey', cacheKey);
  } satisfies Stage;
}

/** Sends the embeddings request upstream (with retries and fallbacks) and keeps its answer. */
export function upstreamEmbeddings(deps: UpstreamEmbeddingsDeps) {
  return function upstreamEmbeddings(c) {
    if (c.get('embeddingsHit')) return;
    return fetchEmbeddings(deps, c);
  } satisfies Stage;
}

/** What the embeddings upstream stage uses. */
interface UpstreamEmbeddingsDeps {
  upstream: Upstream;
  secrets: readonly string[];
}

async function fetchEmbeddings(deps: UpstreamEmbeddingsDeps, c: Context<AppEnv>): Promise<void> {
  const req = c.get('request');
  const trace = c.get('trace');
  const span = trace?.child(
    `embeddings ${req.model}`,
    { 'gen_ai.operation.name': 'embeddings', 'gen_ai.request.model': req.model },
    SpanKind.CLIENT,
  );
  try {
    const answer = await deps.upstream.embeddings({
      body: req.body,
      model: req.model,
      client: clientLink(c),
      headers: trace && span ? trace.headersFor(span) : undefined,
    });
    c.set('embeddings', answer);
    if (span) {
      span.setAttributes(endpointAttributes(answer.meta.endpoint));
      span.setAttributes({
        'tollgate.provider': answer.meta.provider,
        'tollgate.upstream.attempts': answer.meta.attempts,
      });
      span.end();
    }
  } catch (err) {
    if (span) failUpstreamSpan(span, err);
    throw failedCall(c, err, deps.secrets);
  }
}

/**
 * The upstream's answer in the encoding the client asked for. An upstream that ignores
 * `encoding_format: "base64"` (several OpenAI-compatible servers do) answers floats, which
 * openai-node, asking base64 by default, would read as base64 and turn into empty or wrong
 * vectors; such floats are sent as OpenAI sends them, base64 of little-endian float32.
 */
function asAsked(result: Record<string, unknown>, format: unknown): Record<string, unknown> {
  const data = result.data;
  if (format !== 'base64' || !Array.isArray(data)) return result;
  if (!data.some((item) => isRecord(item) && Array.isArray(item.embedding))) return result;
  return {
    ...result,
    data: data.map((item: unknown) =>
      isRecord(item) && Array.isArray(item.embedding)
        ? {
            ...item,
            embedding: vectorToBytes(Float32Array.from(item.embedding, Number)).toString('base64'),
          }
        : item,
    ),
  };
}

/**
 * The provider's usage: an embedding's tokens are all input, so either count stands for both
 * (Jina's OpenAI-compatible API sends `total_tokens` alone).
 */
function usageOf(result: Record<string, unknown>): Outcome['usage'] {
  const usage = result.usage;
  if (!isRecord(usage)) return null;
  const prompt = typeof usage.prompt_tokens === 'number' ? usage.prompt_tokens : null;
  const total = typeof usage.total_tokens === 'number' ? usage.total_tokens : null;
  const input = prompt ?? total;
  if (input === null) return null;
  return { prompt_tokens: input, completion_tokens: 0, total_tokens: total ?? input };
}

/**
 * Answers with the upstream's embeddings JSON as it sent it (floats or base64, as the client
 * asked), or with the cached copy of an exact repeat, and keeps a fresh answer for its repeats.
 * The row records the usage (none on a hit: what it saved is in tokens_saved_cache) and a summary,
 * never the vectors.
 */
export function respondEmbeddings(deps: { clock: Clock; embeddingsCache: EmbeddingsCache }) {
  return function respondEmbeddings(c: Context<AppEnv>): Response {
    const startedAt = c.get('startedAt');
    const hit = c.get('embeddingsHit');
    if (hit) {
      setResponseHeader(
        c,
        'x-tollgate-overhead-ms',
        (deps.clock.monotonic() - startedAt).toFixed(2),
      );
      showRefundedReservation(c);
      c.set('outcome', {
        status: 200,
        errorCode: null,
        completion: null,
        usage: null,
        summary: { object: 'list', model: hit.upstreamModel, cached: true },
        provider: hit.provider,
        upstreamModel: hit.upstreamModel,
        ttftMs: null,
        upstreamMs: null,
        upstreamStatus: null,
        attempts: null,
        latencyMs: deps.clock.monotonic() - startedAt,
        fromCache: true,
        upstreamFailure: null,
        complete: true,
        tokensSavedCache: hit.totalTokens,
      });
      return answerWith(c, hit.body, JSON_HEADERS);
    }
    const { meta } = c.get('embeddings');
    const result = asAsked(c.get('embeddings').result, c.get('request').body.encoding_format);
    const upstreamMs = meta.firstByteAt - meta.startedAt;
    setResponseHeader(
      c,
      'x-tollgate-overhead-ms',
      (deps.clock.monotonic() - startedAt - upstreamMs).toFixed(2),
    );
    const data = Array.isArray(result.data) ? result.data : [];
    const usage = usageOf(result);
    // The model the provider answered with, as for chat answers (see respond.ts).
    const upstreamModel =
      typeof result.model === 'string' && result.model !== '' ? result.model : meta.upstreamModel;
    c.set('outcome', {
      status: 200,
      errorCode: null,
      completion: null,
      usage,
      summary: { object: result.object, model: result.model, embeddings: data.length },
      provider: meta.provider,
      upstreamModel,
      ttftMs: null,
      upstreamMs,
      upstreamStatus: meta.status,
      attempts: meta.attempts,
      latencyMs: deps.clock.monotonic() - startedAt,
      fromCache: false,
      upstreamFailure: null,
      complete: true,
    });
    const body = JSON.stringify(result);
    const cacheKey = c.get('embeddingsCacheKey');
    if (cacheKey !== undefined && data.length > 0) {
      deps.embeddingsCache.set(cacheKey, {
        body,
        provider: meta.provider,
        upstreamModel,
        totalTokens: usage?.total_tokens ?? null,
        createdAt: deps.clock.now(),
      });
    }
    return answerWith(c, body, JSON_HEADERS);
  };
}
