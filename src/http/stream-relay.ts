import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { StreamAssembler } from '../upstream/stream-assembly.js';
import type { UpstreamStream } from '../upstream/upstream.js';
import { UpstreamFailure } from '../upstream/upstream-failure.js';
import { GatewayError } from './errors.js';
import { upstreamError } from './upstream-error.js';

/** How an endpoint writes a relayed chat stream on the wire (chat chunks, Responses events, …). */
export interface StreamFormat {
  /** Text to send before the first chunk ('' for none). */
  start(): string;
  /**
   * The text for one upstream chunk ('' when the client sees nothing of it); `raw` is the chunk's
   * JSON exactly as the upstream sent it, when known.
   */
  chunk(chunk: ChatCompletionChunk, raw: string | null): string;
  /** The closing text once the answer is whole (possibly after storing it). */
  end(): string | Promise<string>;
  /** The last text when the upstream fails after the stream began. */
  error(error: GatewayError): string;
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
 * Relays an upstream chat stream to the client in the endpoint's format. Each pull sends what the
 * upstream has delivered so far as one piece (the chunks of one network read go out in one write,
 * not one each) and waits for the upstream only when nothing is left to send: the next upstream
 * read happens only when the client has taken the last piece. A failure after the first byte can
 * only travel as the format's error frame. The answer is whole once every choice has finished and
 * the usage chunk (always asked for) has come: the stream ends then, not when the upstream gets
 * round to closing its connection. `onEnd` runs once, when the stream ends, fails or the client
 * leaves.
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
      let out = started ? '' : format.start();
      started = true;
      const send = () => {
        if (out !== '') controller.enqueue(Buffer.from(out));
        out = '';
      };
      try {
        for (;;) {
          let chunk = pending ?? stream.ready();
          pending = null;
          if (!chunk) {
            if (out !== '') return send();
            const next = await stream.rest.next();
            if (next.done) {
              out += await format.end();
              send();
              controller.close();
              finish(200, null);
              return;
            }
            chunk = next.value;
          }
          assembler.add(chunk);
          out += format.chunk(chunk, stream.raw());
          if (chunk.usage && assembler.finished) {
            out += await format.end();
            send();
            controller.close();
            // The upstream's own end is read in the background so its connection is reused.
            finish(200, null, false);
            void drain(stream);
            return;
          }
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
          out += format.error(error);
          send();
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
