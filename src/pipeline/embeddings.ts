import type { Context, MiddlewareHandler } from 'hono';
import { countTokens } from '../compression/token-count.js';
import { parseEmbeddingsRequest } from '../http/embeddings-request.js';
import type { AppEnv, Outcome } from '../http/env.js';
import { parseJsonBody } from '../http/json-body.js';
import { readBodyText } from '../http/read-body.js';
import { upstreamError } from '../http/upstream-error.js';
import type { Clock } from '../runtime/clock.js';
import { isRecord } from '../runtime/is-record.js';
import { failSpan, SpanKind } from '../runtime/tracing.js';
import type { Upstream } from '../upstream/upstream.js';
import { UpstreamFailure } from '../upstream/upstream-failure.js';
import type { ParseDeps } from './parse-chat.js';
import { checkModel } from './parse-chat.js';

/**
 * Reads an embeddings request, checks the key may use the model, and counts its input tokens for
 * the TPM reservation (texts with the model's tokenizer, token arrays by length).
 */
export function parseEmbeddings(deps: ParseDeps) {
  return async function parseEmbeddings(c, next) {
    const text = await readBodyText(c.req.raw, deps.config.maxBodyBytes, deps.config.bodyTimeoutMs);
    const parsed = parseEmbeddingsRequest(parseJsonBody(text));
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
    await next();
  } satisfies MiddlewareHandler<AppEnv>;
}

/** Sends the embeddings request upstream (with retries and fallbacks) and keeps its answer. */
export function upstreamEmbeddings(deps: { upstream: Upstream; secrets: readonly string[] }) {
  return async function upstreamEmbeddings(c, next) {
    const req = c.get('request');
    const trace = c.get('trace');
    const span = trace?.child(
      `embeddings ${req.model}`,
      { 'gen_ai.operation.name': 'embeddings', 'gen_ai.request.model': req.model },
      SpanKind.CLIENT,
    );
    try {
      c.set(
        'embeddings',
        await deps.upstream.embeddings({
          body: req.body,
          model: req.model,
          signal: c.req.raw.signal,
          headers: trace && span ? trace.headersFor(span) : undefined,
        }),
      );
      span?.end();
    } catch (err) {
      if (span) failSpan(span, err instanceof Error ? err.message : 'upstream failure');
      throw err instanceof UpstreamFailure ? upstreamError(err, deps.secrets) : err;
    }
    await next();
  } satisfies MiddlewareHandler<AppEnv>;
}

function usageOf(result: Record<string, unknown>): Outcome['usage'] {
  const usage = result.usage;
  if (!isRecord(usage) || typeof usage.prompt_tokens !== 'number') return null;
  const total = typeof usage.total_tokens === 'number' ? usage.total_tokens : usage.prompt_tokens;
  return { prompt_tokens: usage.prompt_tokens, completion_tokens: 0, total_tokens: total };
}

/**
 * Answers with the upstream's embeddings JSON as it sent it (floats or base64, as the client
 * asked). The row records the usage and a summary, never the vectors.
 */
export function respondEmbeddings(deps: { clock: Clock }) {
  return function respondEmbeddings(c: Context<AppEnv>): Response {
    const { result, meta } = c.get('embeddings');
    const startedAt = c.get('startedAt');
    const upstreamMs = meta.firstByteAt - meta.startedAt;
    c.header(
      'x-tollgate-overhead-ms',
      (deps.clock.monotonic() - startedAt - upstreamMs).toFixed(2),
    );
    const data = Array.isArray(result.data) ? result.data : [];
    c.set('outcome', {
      status: 200,
      errorCode: null,
      completion: null,
      usage: usageOf(result),
      summary: { object: result.object, model: result.model, embeddings: data.length },
      provider: meta.provider,
      upstreamModel: typeof result.model === 'string' ? result.model : meta.upstreamModel,
      ttftMs: null,
      upstreamMs,
      latencyMs: deps.clock.monotonic() - startedAt,
      fromCache: false,
      complete: true,
    });
    return c.json(result);
  };
}
