import type { Attributes } from '@opentelemetry/api';
import type { Context } from 'hono';
import { derivePromptCacheKey } from '../cache/prompt-cache-key.js';
import { clientLink } from '../http/client-link.js';
import type { AppEnv } from '../http/env.js';
import { upstreamError } from '../http/upstream-error.js';
import type { RequestTrace, Span } from '../runtime/tracing.js';
import { failSpan, SpanKind } from '../runtime/tracing.js';
import type { Upstream, UpstreamAnswer, UpstreamEndpoint } from '../upstream/upstream.js';
import { UpstreamFailure } from '../upstream/upstream-failure.js';
import type { Stage } from './stage.js';

/** The key to add to a request that has no `prompt_cache_key` of its own; null to add none. */
function addedPromptCacheKey(
  secret: Buffer,
  tenantId: string,
  body: Record<string, unknown>,
): string | null {
  if (body.prompt_cache_key !== undefined) return null;
  return derivePromptCacheKey(secret, tenantId, body);
}

/**
 * The client's JSON object text with one field written first, every other byte as sent; null
 * when the text is not an object with at least one field (the body is then serialised instead).
 */
function withLeadingField(raw: string, name: string, value: string): string | null {
  const open = raw.search(/\S/);
  if (open < 0 || raw[open] !== '{' || /^\s*\}/.test(raw.slice(open + 1))) return null;
  const field = `${JSON.stringify(name)}:${JSON.stringify(value)},`;
  return `${raw.slice(0, open + 1)}${field}${raw.slice(open + 1)}`;
}

/**
 * Sends the request upstream and puts the answer in the context. Streams always ask for the usage
 * chunk so usage is known; the responder hides it from clients that did not ask. Stands aside
 * when the cache stage has already found the answer. A request without `prompt_cache_key` gets
 * one derived from its tenant and stable prefix (PROMPT_CACHE_KEY=auto), added after the cache
 * stage so the gateway's own cache scope never sees it. An upstream failure becomes the error the
 * client sees (scrubbed of every configured secret).
 */
export function upstream(deps: UpstreamStageDeps) {
  return function upstream(c) {
    if (c.get('cacheHit')) return;
    return askUpstream(deps, c);
  } satisfies Stage;
}

/** What the upstream stage uses. */
interface UpstreamStageDeps {
  upstream: Upstream;
  secrets: readonly string[];
  promptCacheSecret: Buffer | null;
}

/**
 * A copy of a request body with one field set. Not `{ ...body, [name]: value }`: V8 gives a spread
 * copy a shape of its own, outside the shared tree of shapes, so a field added to it makes a new
 * shape (a map and its descriptors, in the old generation) on every request. A copy built field by
 * field from an empty object reuses the shapes made for the first request of that layout.
 */
function withField(
  body: Record<string, unknown>,
  name: string,
  value: unknown,
): Record<string, unknown> {
  const copy: Record<string, unknown> = Object.assign({}, body);
  copy[name] = value;
  return copy;
}

/** Sends the request upstream and puts the answer in the context. */
async function askUpstream(deps: UpstreamStageDeps, c: Context<AppEnv>): Promise<void> {
  const req = c.get('request');
  const needsUsage = req.stream && !req.includeUsage;
  let body = needsUsage
    ? withField(req.body, 'stream_options', {
        ...(req.body.stream_options as Record<string, unknown> | undefined),
        include_usage: true,
      })
    : req.body;
  const trace = c.get('trace');
  const span = trace?.child(
    `chat ${req.model}`,
    { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': req.model },
    SpanKind.CLIENT,
  );
  let rawBody = needsUsage ? null : req.rawBody;
  const cacheKey = deps.promptCacheSecret
    ? addedPromptCacheKey(deps.promptCacheSecret, c.get('apiKey').tenantId, body)
    : null;
  if (cacheKey !== null) {
    body = withField(body, 'prompt_cache_key', cacheKey);
    rawBody = rawBody === null ? null : withLeadingField(rawBody, 'prompt_cache_key', cacheKey);
  }
  try {
    const answer = await deps.upstream.chat({
      body,
      rawBody: rawBody === null ? null : Buffer.from(rawBody),
      model: req.model,
      stream: req.stream,
      client: clientLink(c),
      headers: trace && span ? trace.headersFor(span) : undefined,
    });
    c.set('answer', answer);
    if (trace && span) endUpstreamSpan(trace, span, answer);
  } catch (err) {
    if (span) failUpstreamSpan(span, err);
    throw failedCall(c, err, deps.secrets);
  }
}

/**
 * OpenTelemetry's GenAI and server attributes of the upstream a call went to: the provider's
 * name (`gen_ai.provider.name`) and the host and port of its base URL.
 */
export function endpointAttributes(endpoint: UpstreamEndpoint): Attributes {
  return {
    'gen_ai.provider.name': endpoint.genAiProvider,
    'server.address': endpoint.address,
    'server.port': endpoint.port,
  };
}

/** Ends a failed upstream call's span: where it went, if an upstream was asked, and why it failed. */
export function failUpstreamSpan(span: Span, err: unknown): void {
  if (err instanceof UpstreamFailure && err.endpoint) {
    span.setAttributes(endpointAttributes(err.endpoint));
  }
  failSpan(span, err instanceof Error ? err.message : 'upstream failure');
}

/**
 * The error a failed upstream call ends the request with: an UpstreamFailure becomes the error the
 * client sees, and the call is first noted in the context (`failedUpstream`), so the access log and
 * the interaction row report the provider asked and the time spent on it — with the failure's
 * reason, unless the client left or the gateway's shutdown stopped the call (no upstream failure).
 */
export function failedCall(c: Context<AppEnv>, err: unknown, secrets: readonly string[]): unknown {
  if (!(err instanceof UpstreamFailure)) return err;
  c.set('failedUpstream', {
    provider: err.provider,
    upstreamMs: err.upstreamMs,
    upstreamStatus: err.upstreamStatus,
    attempts: err.attempts,
    reason: err.fromUpstream ? err.reason : null,
  });
  return upstreamError(err, secrets);
}

/** A JSON answer ends the upstream span; a stream's span lasts until the request ends. */
function endUpstreamSpan(trace: RequestTrace, span: Span, answer: UpstreamAnswer) {
  span.setAttributes(endpointAttributes(answer.meta.endpoint));
  span.setAttributes({
    'gen_ai.response.model': answer.meta.upstreamModel,
    'tollgate.provider': answer.meta.provider,
    'tollgate.upstream.attempts': answer.meta.attempts,
  });
  if (answer.kind === 'json') span.end();
  else trace.endWithRequest(span);
}
