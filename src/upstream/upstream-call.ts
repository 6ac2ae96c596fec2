import type OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { Clock } from '../runtime/clock.js';
import { Attempt, type AttemptEnds } from './attempt.js';
import { ChatChunkReader } from './chat-chunk-reader.js';
import { isChatCompletion } from './chat-completion-shape.js';
import { isEmbeddingsList, vectorsAskedFor } from './embeddings-shape.js';
import type { UpstreamStream } from './upstream.js';
import { classifyFailure, UpstreamFailure } from './upstream-failure.js';
import { bodyPieces } from './upstream-response.js';

const JSON_CONTENT: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
});

/** The timeouts one attempt runs under. */
export interface AttemptTimeouts {
  firstTokenMs: number;
  /** Longest silence between two streamed chunks. */
  idleMs: number;
  totalMs: number;
}

/** One attempt's request, and what ends it early (its client leaving, the gateway's shutdown). */
export interface AttemptRequest extends AttemptEnds {
  body: Record<string, unknown>;
  /** The client's exact bytes when the body is unchanged (sent instead of re-serialising it). */
  rawBody: Uint8Array | null;
  stream: boolean;
  /** Extra headers (the trace's `traceparent`). */
  headers?: Record<string, string> | undefined;
}

/** One embeddings attempt's request, and what ends it early. */
export interface EmbeddingsAttempt extends AttemptEnds {
  body: Record<string, unknown>;
  /** Extra headers (the trace's `traceparent`). */
  headers?: Record<string, string> | undefined;
}

/**
 * Sends one chat request to one upstream through the SDK. Resolves with the completion and its
 * JSON text as the upstream sent it, or with the live stream once its first chunk has arrived;
 * rejects with an UpstreamFailure.
 */
export async function callUpstream(
  sdk: OpenAI,
  request: AttemptRequest,
  timeouts: AttemptTimeouts,
  clock: Clock,
): Promise<
  | { completion: ChatCompletion; json: string; status: number }
  | { stream: UpstreamStream; status: number }
> {
  // A JSON answer arrives whole, so only the total timeout applies to it.
  const attempt = new Attempt(
    request,
    request.stream ? timeouts.firstTokenMs : null,
    timeouts.totalMs,
  );
  // Always JSON bytes (the client's own when unchanged): the one request shape the client
  // builds without the SDK's per-call header work (see UpstreamClient).
  const options = {
    signal: attempt.signal,
    body: request.rawBody ?? Buffer.from(JSON.stringify(request.body)),
    headers: request.headers ? { ...JSON_CONTENT, ...request.headers } : JSON_CONTENT,
  };
  // The status the upstream answered with, once its headers are in: an answer it sent that is
  // not one (a proxy's HTML page, a stream with no chunk) still reports it.
  let answered: number | null = null;
  const fail = (err: unknown): never => {
    attempt.detach();
    throw answeredWith(
      classifyFailure(err, {
        clientAborted: request.client.gone,
        shutDown: attempt.shutDown,
        timeout: attempt.timeout,
        nowMs: clock.now(),
      }),
      answered,
    );
  };
  if (!request.stream) {
    try {
      // The answer's text, read here rather than by the SDK's parser: the client gets these very
      // bytes (not the parsed answer serialised again), and the row and the cache keep them.
      const response = await sdk.chat.completions
        .create(request.body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, options)
        .asResponse();
      answered = response.status;
      const json = await response.text();
      const completion: unknown = JSON.parse(json);
      // A 200 that is not a chat completion fails the attempt as a body that is not JSON does:
      // retried, then the next upstream, then a 502, never an answer to relay or cache.
      if (!isChatCompletion(completion)) {
        throw new UpstreamFailure({
          kind: 'connection',
          message: 'upstream answered with a body that is not a chat completion',
        });
      }
      attempt.detach();
      return { completion, json, status: response.status };
    } catch (err) {
      return fail(err);
    }
  }
  let iterator: ChatChunkReader;
  let first: IteratorResult<ChatCompletionChunk>;
  let status: number;
  try {
    // The raw answer, read by the gateway's own event reader: the SDK's stream would wrap the
    // body in a web stream, decode it line by line and hand each chunk through three generators.
    const response = await sdk.chat.completions
      .create(request.body as unknown as OpenAI.ChatCompletionCreateParamsStreaming, options)
      .asResponse();
    status = response.status;
    answered = status;
    iterator = new ChatChunkReader(bodyPieces(response), response.headers);
    first = await iterator.next();
  } catch (err) {
    return fail(err);
  }
  if (first.done) {
    return fail(
      new UpstreamFailure({
        kind: 'connection',
        message: 'upstream stream ended before its first chunk',
        reason: 'stream ended before its first chunk',
      }),
    );
  }
  attempt.firstByteArrived();
  const now = () => clock.monotonic();
  attempt.watchIdle(timeouts.idleMs, now);
  const rest: AsyncIterator<ChatCompletionChunk> = {
    next: async () => {
      try {
        const next = await iterator.next();
        // A body that ends after an abort (a timer, the client, the shutdown) is not whole.
        if (next.done && attempt.signal.aborted) return fail(attempt.signal.reason);
        attempt.chunkArrived(now());
        return next;
      } catch (err) {
        return fail(err);
      }
    },
  };
  return {
    status,
    stream: {
      first: first.value,
      rest,
      ready: () => {
        const chunk = iterator.ready();
        if (chunk) attempt.chunkArrived(now());
        return chunk;
      },
      raw: () => iterator.lastRaw(),
      endedWithDone: () => iterator.endedWithDone,
      clientBusy: () => attempt.pauseIdle(),
      clientReady: () => attempt.resumeIdle(),
      abort: () => attempt.controller.abort(),
      finish: () => attempt.detach(),
    },
  };
}

/**
 * Sends one embeddings request to one upstream and returns its JSON exactly as sent (the SDK's
 * own decoding of base64 is bypassed, so floats or base64 reach the client as it asked), with the
 * status it came with.
 */
export async function callEmbeddings(
  sdk: OpenAI,
  request: EmbeddingsAttempt,
  totalMs: number,
  clock: Clock,
): Promise<{ body: Record<string, unknown>; status: number }> {
  const attempt = new Attempt(request, null, totalMs);
  const { headers } = request;
  try {
    const { data: result, response } = await sdk
      .post<unknown>('/embeddings', {
        body: Buffer.from(JSON.stringify(request.body)),
        signal: attempt.signal,
        headers: headers ? { ...JSON_CONTENT, ...headers } : JSON_CONTENT,
      })
      .withResponse();
    // A 200 that is not an embeddings list of a vector per input (a proxy's HTML page, which the
    // SDK hands back as text, an error object, a vector missing) fails the attempt as on chat:
    // retried, then the next upstream, then a 502, never an answer to relay or cache.
    if (!isEmbeddingsList(result, vectorsAskedFor(request.body.input))) {
      throw answeredWith(
        new UpstreamFailure({
          kind: 'connection',
          message: 'upstream answered with a body that is not an embeddings list',
        }),
        response.status,
      );
    }
    return { body: result, status: response.status };
  } catch (err) {
    throw classifyFailure(err, {
      clientAborted: request.client.gone,
      shutDown: attempt.shutDown,
      timeout: attempt.timeout,
      nowMs: clock.now(),
    });
  } finally {
    attempt.detach();
  }
}

/**
 * Notes on a failure of a call the upstream did answer the status it answered with, when what
 * failed was the answer itself (a body that is not one): a timeout, a client that left or the
 * shutdown ended the wait, and an error status is in the failure already.
 */
function answeredWith(failure: UpstreamFailure, status: number | null): UpstreamFailure {
  if (failure.detail.kind === 'connection') failure.upstreamStatus = status;
  return failure;
}
