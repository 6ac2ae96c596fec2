import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { Clock } from '../runtime/clock.js';
import type { FetchFn } from './pooled-fetch.js';
import type { RoutingTable, UpstreamSpec } from './routing-config.js';
import { routeModel } from './routing-config.js';
import type { Upstream, UpstreamAnswer, UpstreamRequest, UpstreamStream } from './upstream.js';
import type { UpstreamFailure } from './upstream-errors.js';
import {
  allowsFallback,
  classifyFailure,
  failureToError,
  isRetryable,
  UpstreamTimeout,
} from './upstream-errors.js';

/** Timeouts and retry policy of upstream calls. */
export interface RouterOptions {
  routing: RoutingTable;
  fetch: FetchFn | undefined;
  clock: Clock;
  timeouts: { firstTokenMs: number; totalMs: number };
  retry: { maxRetries: number; baseMs: number; maxMs: number };
  /** Source of jitter; injectable for tests. */
  random?: () => number;
}

interface Attempt {
  controller: AbortController;
  timeout: UpstreamTimeout | null;
  timers: NodeJS.Timeout[];
  detach: () => void;
}

function startAttempt(
  clientSignal: AbortSignal,
  firstByteMs: number | null,
  totalMs: number,
): Attempt {
  const controller = new AbortController();
  const attempt: Attempt = { controller, timeout: null, timers: [], detach: () => {} };
  const fire = (phase: 'first-byte' | 'total') => () => {
    attempt.timeout = new UpstreamTimeout(phase);
    controller.abort(attempt.timeout);
  };
  attempt.timers.push(setTimeout(fire('total'), totalMs));
  if (firstByteMs !== null) attempt.timers.push(setTimeout(fire('first-byte'), firstByteMs));
  const onClientAbort = () => controller.abort(clientSignal.reason);
  if (clientSignal.aborted) controller.abort(clientSignal.reason);
  else clientSignal.addEventListener('abort', onClientAbort, { once: true });
  attempt.detach = () => {
    for (const t of attempt.timers) clearTimeout(t);
    clientSignal.removeEventListener('abort', onClientAbort);
  };
  return attempt;
}

/**
 * The upstream router: sends a chat request to the model's first target through the openai SDK
 * (whose own retries are off), retries with bounded exponential backoff that honours
 * `retry-after`, then falls back to the next target. All of it happens before the first byte
 * reaches the client: once a stream has delivered its first chunk, a failure is final.
 */
export function createRouter(options: RouterOptions): Upstream {
  const { routing, clock, timeouts, retry } = options;
  const random = options.random ?? Math.random;
  const clients = new Map<string, { spec: UpstreamSpec; sdk: OpenAI }>();
  for (const spec of routing.upstreams) {
    const sdk = new OpenAI({
      apiKey: spec.apiKey ?? 'no-upstream-key-configured',
      baseURL: spec.baseURL,
      maxRetries: 0,
      // Our own timers abort sooner; this only keeps the SDK from cutting a long call short.
      timeout: timeouts.totalMs + 60_000,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    clients.set(spec.name, { spec, sdk });
  }
  const secrets = routing.upstreams.flatMap((u) => (u.apiKey ? [u.apiKey] : []));

  function backoffMs(attempt: number, failure: UpstreamFailure): number | null {
    const exp = Math.min(retry.maxMs, retry.baseMs * 2 ** attempt);
    const jittered = exp / 2 + (random() * exp) / 2;
    if (failure.kind === 'status' && failure.retryAfterMs !== null) {
      // A provider asking for a longer pause than we allow is better served by a fallback.
      return failure.retryAfterMs > retry.maxMs ? null : Math.max(failure.retryAfterMs, 0);
    }
    return jittered;
  }

  async function once(
    sdk: OpenAI,
    body: Record<string, unknown>,
    rawBody: Uint8Array | null,
    stream: boolean,
    clientSignal: AbortSignal,
  ): Promise<{ completion: ChatCompletion } | { stream: UpstreamStream }> {
    // A JSON answer arrives whole, so only the total timeout applies to it.
    const firstByteMs = stream ? timeouts.firstTokenMs : null;
    const attempt = startAttempt(clientSignal, firstByteMs, timeouts.totalMs);
    const signal = attempt.controller.signal;
    // Unchanged requests go upstream as the exact bytes the client sent.
    const options = rawBody
      ? { signal, body: rawBody, headers: { 'content-type': 'application/json' } }
      : { signal };
    const fail = (err: unknown): never => {
      attempt.detach();
      throw classifyFailure(err, {
        clientAborted: clientSignal.aborted,
        timeout: attempt.timeout,
        nowMs: clock.now(),
      });
    };
    if (!stream) {
      try {
        const completion = (await sdk.chat.completions.create(
          body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming,
          options,
        )) as ChatCompletion;
        attempt.detach();
        return { completion };
      } catch (err) {
        return fail(err);
      }
    }
    let iterator: AsyncIterator<ChatCompletionChunk>;
    let first: IteratorResult<ChatCompletionChunk>;
    try {
      const s = await sdk.chat.completions.create(
        body as unknown as OpenAI.ChatCompletionCreateParamsStreaming,
        options,
      );
      iterator = s[Symbol.asyncIterator]();
      first = await iterator.next();
    } catch (err) {
      return fail(err);
    }
    if (first.done) return fail(new Error('upstream stream ended before its first chunk'));
    const firstTimer = attempt.timers[1];
    if (firstTimer) clearTimeout(firstTimer);
    const rest: AsyncIterator<ChatCompletionChunk> = {
      next: async () => {
        try {
          return await iterator.next();
        } catch (err) {
          return fail(err);
        }
      },
    };
    return {
      stream: {
        first: first.value,
        rest,
        abort: () => attempt.controller.abort(),
        finish: () => attempt.detach(),
      },
    };
  }

  return {
    async chat(request: UpstreamRequest): Promise<UpstreamAnswer> {
      const targets = routeModel(routing, request.model) ?? [];
      const startedAt = clock.monotonic();
      let attempts = 0;
      let last: UpstreamFailure = { kind: 'connection', message: 'no upstream serves this model' };
      for (const target of targets) {
        const client = clients.get(target.upstream);
        if (!client) continue;
        const upstreamModel = target.model ?? request.model;
        const body = target.model ? { ...request.body, model: target.model } : request.body;
        const rawBody = target.model ? null : request.rawBody;
        for (let i = 0; i <= retry.maxRetries; i++) {
          attempts++;
          try {
            const result = await once(client.sdk, body, rawBody, request.stream, request.signal);
            const meta = {
              provider: client.spec.name,
              upstreamModel,
              attempts,
              startedAt,
              firstByteAt: clock.monotonic(),
            };
            return 'completion' in result
              ? { kind: 'json', completion: result.completion, meta }
              : { kind: 'stream', stream: result.stream, meta };
          } catch (failure) {
            last = failure as UpstreamFailure;
            if (last.kind === 'client-closed') throw failureToError(last, secrets);
            if (!isRetryable(last) || i === retry.maxRetries) break;
            const wait = backoffMs(i, last);
            if (wait === null) break;
            try {
              await sleep(wait, undefined, { signal: request.signal });
            } catch {
              throw failureToError({ kind: 'client-closed' }, secrets);
            }
          }
        }
        if (!allowsFallback(last)) break;
      }
      throw failureToError(last, secrets);
    },

    async listModels(signal) {
      const first = routing.upstreams[0];
      const client = first ? clients.get(first.name) : undefined;
      if (!client) return [];
      const ids: string[] = [];
      for await (const model of client.sdk.models.list({ signal })) ids.push(model.id);
      return ids;
    },

    serves(model) {
      return routeModel(routing, model) !== null;
    },

    async close() {},
  };
}
