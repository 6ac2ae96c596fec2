import type { Context } from 'hono';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CacheHit } from '../cache/cache-store.js';
import { replayChunks } from '../http/chat-replay.js';
import type { AppEnv, ChatOutcome } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import { SSE_DONE, SSE_HEADERS, sseData } from '../http/sse.js';
import type { Clock } from '../runtime/clock.js';
import { StreamAssembler } from '../upstream/stream-assembly.js';
import type { UpstreamStream } from '../upstream/upstream.js';
import type { UpstreamFailure } from '../upstream/upstream-errors.js';
import { failureToError } from '../upstream/upstream-errors.js';

function isFailure(err: unknown): err is UpstreamFailure {
  return typeof err === 'object' && err !== null && 'kind' in err && !(err instanceof Error);
}

/** Removes what the client did not ask for: the usage chunk and `usage: null` fields. */
function visibleChunk(
  chunk: ChatCompletionChunk,
  includeUsage: boolean,
): ChatCompletionChunk | null {
  if (includeUsage || !('usage' in chunk)) return chunk;
  if (chunk.usage && chunk.choices.length === 0) return null;
  const { usage: _usage, ...rest } = chunk;
  return rest;
}

/**
 * The one responder: turns the answer in the context into OpenAI's JSON or an SSE stream, and
 * publishes the request's outcome once the last byte is out (or the client has gone).
 */
export function respondChat(
  c: Context<AppEnv>,
  clock: Clock,
  secrets: readonly string[],
): Response {
  const hit = c.get('cacheHit');
  if (hit) return respondCached(c, clock, hit);
  const answer = c.get('answer');
  const req = c.get('chatRequest');
  const startedAt = c.get('startedAt');
  const { meta } = answer;
  const upstreamWaitMs = meta.firstByteAt - meta.startedAt;
  c.header('x-tollgate-overhead-ms', (clock.monotonic() - startedAt - upstreamWaitMs).toFixed(2));

  if (answer.kind === 'json') {
    const now = clock.monotonic();
    c.set(
      'outcome',
      Promise.resolve({
        status: 200,
        errorCode: null,
        completion: answer.completion,
        provider: meta.provider,
        upstreamModel: meta.upstreamModel,
        ttftMs: null,
        upstreamMs: upstreamWaitMs,
        latencyMs: now - startedAt,
        fromCache: false,
      }),
    );
    return c.json(answer.completion);
  }

  let settle: (o: ChatOutcome) => void = () => {};
  c.set('outcome', new Promise<ChatOutcome>((resolve) => (settle = resolve)));
  const body = streamBody(
    answer.stream,
    req.includeUsage,
    (status, errorCode, assembler) => {
      const now = clock.monotonic();
      settle({
        status,
        errorCode,
        completion: assembler.chunks > 0 ? assembler.result() : null,
        provider: meta.provider,
        upstreamModel: meta.upstreamModel,
        ttftMs: meta.firstByteAt - startedAt,
        upstreamMs: now - meta.startedAt,
        latencyMs: now - startedAt,
        fromCache: false,
      });
    },
    secrets,
  );
  return c.newResponse(body, 200, SSE_HEADERS);
}

/**
 * The cached-answer variant: the stored completion as JSON, or replayed as an OpenAI stream when
 * the request streams (usage chunk only if asked for, as for a live stream). The body is the
 * original answer, its `id` and `created` included; `age` says how old it is.
 */
function respondCached(c: Context<AppEnv>, clock: Clock, hit: CacheHit): Response {
  const req = c.get('chatRequest');
  const startedAt = c.get('startedAt');
  const { completion } = hit;
  c.header('x-tollgate-cache-similarity', hit.similarity.toFixed(4));
  c.header('age', String(Math.max(0, Math.floor((clock.now() - hit.createdAt) / 1_000))));
  c.header('x-tollgate-overhead-ms', (clock.monotonic() - startedAt).toFixed(2));
  const outcome = (status: number, errorCode: string | null): ChatOutcome => ({
    status,
    errorCode,
    completion,
    provider: null,
    upstreamModel: completion.model,
    ttftMs: req.stream ? clock.monotonic() - startedAt : null,
    upstreamMs: null,
    latencyMs: clock.monotonic() - startedAt,
    fromCache: true,
  });
  if (!req.stream) {
    c.set('outcome', Promise.resolve(outcome(200, null)));
    return c.json(completion);
  }
  let settle: (o: ChatOutcome) => void = () => {};
  c.set('outcome', new Promise<ChatOutcome>((resolve) => (settle = resolve)));
  const frames = replayChunks(completion, req.includeUsage).map(sseData);
  frames.push(SSE_DONE);
  let next = 0;
  let finished = false;
  const finish = (status: number, errorCode: string | null) => {
    if (finished) return;
    finished = true;
    settle(outcome(status, errorCode));
  };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const frame = frames[next++];
      if (frame) controller.enqueue(frame);
      if (next >= frames.length) {
        controller.close();
        finish(200, null);
      }
    },
    cancel() {
      finish(499, 'client_closed');
    },
  });
  return c.newResponse(body, 200, SSE_HEADERS);
}

function streamBody(
  stream: UpstreamStream,
  includeUsage: boolean,
  done: (status: number, errorCode: string | null, assembler: StreamAssembler) => void,
  secrets: readonly string[],
): ReadableStream<Uint8Array> {
  const assembler = new StreamAssembler();
  let finished = false;
  const finish = (status: number, errorCode: string | null) => {
    if (finished) return;
    finished = true;
    stream.finish();
    done(status, errorCode, assembler);
  };
  let pending: ChatCompletionChunk | null = stream.first;
  return new ReadableStream<Uint8Array>({
    // Pull-driven: the next upstream chunk is read only when the client has taken the last one.
    async pull(controller) {
      try {
        for (;;) {
          let chunk = pending;
          pending = null;
          if (!chunk) {
            const next = await stream.rest.next();
            if (next.done) {
              controller.enqueue(SSE_DONE);
              controller.close();
              finish(200, null);
              return;
            }
            chunk = next.value;
          }
          assembler.add(chunk);
          const visible = visibleChunk(chunk, includeUsage);
          if (visible) {
            controller.enqueue(sseData(visible));
            return;
          }
        }
      } catch (err) {
        if (finished) return;
        const failure: UpstreamFailure = isFailure(err)
          ? err
          : { kind: 'connection', message: err instanceof Error ? err.message : String(err) };
        const error = failureToError(failure, secrets);
        if (error instanceof GatewayError) {
          // After the first byte the status is sent; an error can only travel as a last frame.
          controller.enqueue(sseData(error.body()));
          controller.close();
          finish(error.status, error.code ?? 'upstream_error');
        } else {
          controller.close();
          finish(499, 'client_closed');
        }
      }
    },
    cancel() {
      stream.abort();
      finish(499, 'client_closed');
    },
  });
}
