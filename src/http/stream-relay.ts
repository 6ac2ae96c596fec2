import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { StreamAssembler } from '../upstream/stream-assembly.js';
import type { UpstreamStream } from '../upstream/upstream.js';
import { UpstreamFailure } from '../upstream/upstream-failure.js';
import { GatewayError } from './errors.js';
import { upstreamError } from './upstream-error.js';

/** How an endpoint writes a relayed chat stream on the wire (chat chunks, Responses events, …). */
export interface StreamFormat {
  /** Bytes to send before the first chunk, if any. */
  start(): Uint8Array | null;
  /** The bytes for one upstream chunk, or null when the client sees nothing of it. */
  chunk(chunk: ChatCompletionChunk): Uint8Array | null;
  /** The closing bytes once the answer is whole (possibly after storing it). */
  end(): Uint8Array | Promise<Uint8Array>;
  /** The last bytes when the upstream fails after the stream began. */
  error(error: GatewayError): Uint8Array;
}

/** How a relayed stream ended: its status, error code and the answer assembled so far. */
export interface StreamEnd {
  status: number;
  errorCode: string | null;
  assembler: StreamAssembler;
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

/**
 * Relays an upstream chat stream to the client in the endpoint's format, pulled one chunk at a
 * time (the next upstream chunk is read only when the client has taken the last one). A failure
 * after the first byte can only travel as the format's error frame. The answer is whole once every
 * choice has finished and the usage chunk (always asked for) has come: the stream ends then, not
 * when the upstream gets round to closing its connection. `onEnd` runs once, when the stream ends,
 * fails or the client leaves.
 */
export function relayStream(
  stream: UpstreamStream,
  format: StreamFormat,
  secrets: readonly string[],
  onEnd: (end: StreamEnd) => void,
): ReadableStream<Uint8Array> {
  const assembler = new StreamAssembler();
  let finished = false;
  const finish = (status: number, errorCode: string | null, release = true) => {
    if (finished) return;
    finished = true;
    if (release) stream.finish();
    onEnd({ status, errorCode, assembler });
  };
  let pending: ChatCompletionChunk | null = stream.first;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!started) {
          started = true;
          const opening = format.start();
          if (opening) controller.enqueue(opening);
        }
        for (;;) {
          let chunk = pending;
          pending = null;
          if (!chunk) {
            const next = await stream.rest.next();
            if (next.done) {
              controller.enqueue(await format.end());
              controller.close();
              finish(200, null);
              return;
            }
            chunk = next.value;
          }
          assembler.add(chunk);
          const bytes = format.chunk(chunk);
          if (bytes) controller.enqueue(bytes);
          if (chunk.usage && assembler.finished) {
            controller.enqueue(await format.end());
            controller.close();
            // The upstream's own end is read in the background so its connection is reused.
            finish(200, null, false);
            void drain(stream);
            return;
          }
          if (bytes) return;
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
        const error = upstreamError(failure, secrets);
        if (error instanceof GatewayError) {
          controller.enqueue(format.error(error));
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
