import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { StreamAssembler } from '../upstream/stream-assembly.js';
import type { UpstreamStream } from '../upstream/upstream.js';
import { UpstreamFailure } from '../upstream/upstream-failure.js';
import { GatewayError } from './errors.js';
import { SSE_DONE, sseData } from './sse.js';
import { upstreamError } from './upstream-error.js';

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

/** How a relayed stream ended: its status, error code and the answer assembled so far. */
export interface StreamEnd {
  status: number;
  errorCode: string | null;
  assembler: StreamAssembler;
}

/**
 * Relays an upstream chat stream to the client as OpenAI's SSE, pulled one chunk at a time (the
 * next upstream chunk is read only when the client has taken the last one). A failure after the
 * first byte can only travel as a last `data: {"error":…}` frame. `onEnd` runs once, when the
 * stream ends, fails or the client leaves.
 */
export function chatStreamBody(
  stream: UpstreamStream,
  options: { includeUsage: boolean; secrets: readonly string[] },
  onEnd: (end: StreamEnd) => void,
): ReadableStream<Uint8Array> {
  const assembler = new StreamAssembler();
  let finished = false;
  const finish = (status: number, errorCode: string | null) => {
    if (finished) return;
    finished = true;
    stream.finish();
    onEnd({ status, errorCode, assembler });
  };
  /**
   * The answer is whole once every choice has finished and the usage chunk (always asked for)
   * has come: the client gets `[DONE]` then, not when the upstream gets round to closing its
   * connection; the rest (its own `[DONE]`) is read in the background so the connection is reused.
   */
  const endEarly = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    controller.enqueue(SSE_DONE);
    controller.close();
    finished = true;
    onEnd({ status: 200, errorCode: null, assembler });
    void drain(stream);
  };
  let pending: ChatCompletionChunk | null = stream.first;
  return new ReadableStream<Uint8Array>({
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
          const visible = visibleChunk(chunk, options.includeUsage);
          if (visible) controller.enqueue(sseData(visible));
          if (chunk.usage && assembler.finished) {
            endEarly(controller);
            return;
          }
          if (visible) return;
        }
      } catch (err) {
        if (finished) return;
        const failure =
          err instanceof UpstreamFailure
            ? err
            : new UpstreamFailure({
                kind: 'connection',
                message: err instanceof Error ? err.message : String(err),
              });
        const error = upstreamError(failure, options.secrets);
        if (error instanceof GatewayError) {
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

/** Reads what is left of a finished stream, then releases it; a failure there changes nothing. */
async function drain(stream: UpstreamStream): Promise<void> {
  try {
    for (;;) if ((await stream.rest.next()).done) break;
  } catch {
    // The answer was already whole; what follows it is of no use.
  } finally {
    stream.finish();
  }
}

/** Frames replayed one per pull; `onEnd` runs once with 200 (all sent) or 499 (client left). */
export function replayBody(
  frames: readonly Uint8Array[],
  onEnd: (status: number) => void,
): ReadableStream<Uint8Array> {
  let next = 0;
  let finished = false;
  const finish = (status: number) => {
    if (finished) return;
    finished = true;
    onEnd(status);
  };
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const frame = frames[next++];
      if (frame) controller.enqueue(frame);
      if (next >= frames.length) {
        controller.close();
        finish(200);
      }
    },
    cancel() {
      finish(499);
    },
  });
}
