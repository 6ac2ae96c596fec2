import type { ServerResponse } from 'node:http';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ShutdownNotice } from '../runtime/shutdown-notice.js';
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
  /** The last text when the upstream fails after the stream began (possibly after storing it). */
  error(error: GatewayError): string | Promise<string>;
  /** The client left (or was cut off) before the end: nothing more is sent. */
  cancel?(): void;
}

/**
 * How a relayed stream ended: its status, error code and the answer assembled so far. The end
 * callback may return a promise: the stream's final piece (its last event, `[DONE]` or error frame)
 * goes out once it settles.
 */
export interface StreamEnd {
  status: number;
  errorCode: string | null;
  /** Why the upstream cut the stream (UpstreamFailure's reason); null when it did not. */
  upstreamFailure: string | null;
  assembler: StreamAssembler;
}

/** Told how a relayed stream ended; a promise it returns holds the final piece (see StreamEnd). */
export type StreamEndCallback = (end: StreamEnd) => Promise<void> | undefined | void;

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

/** Why a relay ended before its stream did, as its row says. */
type CancelCode = 'client_closed' | 'client_stalled' | 'shutting_down';

/** One piece of a relayed stream: its text ('' for none) and whether the stream ends with it. */
interface Piece {
  text: string;
  last: boolean;
}

/**
 * An upstream chat stream in the endpoint's format, piece by piece. Each `next` gives what the
 * upstream has delivered so far as one piece (the chunks of one network read go out in one write,
 * not one each) and waits for the upstream only when nothing is left to send: the sender asks for
 * the next piece only once the client has taken the last. A failure after the first byte can only
 * travel as the format's error frame. The answer is whole once every choice has finished and the
 * usage chunk (always asked for) has come: the stream ends then, not when the upstream gets round
 * to closing its connection. A body that ends with neither `[DONE]` nor every choice finished was
 * cut mid-answer and fails like any other. `onEnd` runs once, when the stream ends, fails or the
 * client leaves.
 */
class RelayPieces {
  private readonly assembler = new StreamAssembler();
  private finished = false;
  private pending: ChatCompletionChunk | null;
  private started = false;

  constructor(
    private readonly stream: UpstreamStream,
    private readonly format: StreamFormat,
    private readonly secrets: readonly string[],
    private readonly onEnd: StreamEndCallback,
  ) {
    this.pending = stream.first;
  }

  /** The next piece; null once the client has left (nothing more is sent). */
  async next(): Promise<Piece | null> {
    const { stream, format } = this;
    let out = this.started ? '' : format.start();
    this.started = true;
    try {
      for (;;) {
        let chunk = this.pending ?? stream.ready();
        this.pending = null;
        if (!chunk) {
          if (out !== '') return { text: out, last: false };
          const next = await stream.rest.next();
          if (next.done) {
            // A connection cut mid-answer (by the upstream or a proxy on the way) ends the body as
            // cleanly as a whole answer does: without `[DONE]` and with a choice still unfinished,
            // the answer is not whole. A finished one without `[DONE]` is (some servers omit it).
            if (!this.assembler.finished && !stream.endedWithDone()) {
              throw new UpstreamFailure({
                kind: 'connection',
                message: 'upstream stream ended before the answer finished',
              });
            }
            out += await format.end();
            await this.finish(200, null, null);
            return { text: out, last: true };
          }
          chunk = next.value;
        }
        this.assembler.add(chunk);
        out += format.chunk(chunk, stream.raw());
        if (chunk.usage && this.assembler.finished) {
          out += await format.end();
          // The upstream's own end is read in the background so its connection is reused.
          const ended = this.finish(200, null, null, false);
          void drain(stream);
          await ended;
          return { text: out, last: true };
        }
      }
    } catch (err) {
      if (this.finished) return null;
      // A refusal once the answer was whole (its turn clashes with another stored meanwhile): the
      // client is told in the stream's own error events, like an upstream failure.
      if (err instanceof GatewayError) {
        const text = out + (await format.error(err));
        await this.finish(err.status, err.code ?? err.type, null);
        return { text, last: true };
      }
      const failure =
        err instanceof UpstreamFailure
          ? err
          : new UpstreamFailure({
              kind: 'connection',
              message: err instanceof Error ? err.message : String(err),
            });
      const error = upstreamError(failure, this.secrets);
      if (error instanceof GatewayError) {
        const reason = failure.fromUpstream ? failure.reason : null;
        const text = out + (await format.error(error));
        await this.finish(error.status, error.code ?? 'upstream_error', reason);
        return { text, last: true };
      }
      this.finish(499, 'client_closed', null);
      return { text: '', last: true };
    }
  }

  /**
   * The client left before the end (`client_closed`), stopped reading (`client_stalled`), or had
   * its connection closed by the gateway's stop (`shutting_down`, a 503): the upstream call is
   * aborted.
   */
  cancel(errorCode: CancelCode = 'client_closed'): void {
    if (this.finished) return;
    this.stream.abort();
    this.format.cancel?.();
    this.finish(errorCode === 'shutting_down' ? 503 : 499, errorCode, null);
  }

  /** Ends the relay once; resolves when its final piece may go (see StreamEnd). */
  private finish(
    status: number,
    errorCode: string | null,
    upstreamFailure: string | null,
    release = true,
  ): Promise<void> | undefined {
    if (this.finished) return undefined;
    this.finished = true;
    if (release) this.stream.finish();
    const ended = this.onEnd({ status, errorCode, upstreamFailure, assembler: this.assembler });
    // A rejection would leave the stream without its final piece: the piece goes out regardless.
    return ended?.catch(() => {});
  }
}

/**
 * Relays an upstream chat stream to the client in the endpoint's format as a web stream (see
 * RelayPieces), for a response built as a web `Response`.
 */
export function relayStream(
  stream: UpstreamStream,
  format: StreamFormat,
  secrets: readonly string[],
  onEnd: StreamEndCallback,
): ReadableStream<Uint8Array> {
  const pieces = new RelayPieces(stream, format, secrets, onEnd);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const piece = await pieces.next();
      if (piece === null) return;
      if (piece.text !== '') controller.enqueue(Buffer.from(piece.text));
      if (piece.last) controller.close();
    },
    cancel() {
      pieces.cancel();
    },
  });
}

/**
 * Resolves true once `response` can take more (`drain`) or will take nothing more (`close`);
 * false if neither happens within `stallMs` (the client has stopped reading).
 */
function writable(response: ServerResponse, stallMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (taken: boolean) => {
      clearTimeout(timer);
      response.off('drain', drained);
      response.off('close', drained);
      resolve(taken);
    };
    const drained = () => done(true);
    const timer = setTimeout(done, stallMs, false);
    response.on('drain', drained);
    response.on('close', drained);
  });
}

/** What `relayStreamTo` relays, and how. */
export interface RelayOptions {
  /** The answer's status-200 headers, sent with the first piece. */
  headers: Readonly<Record<string, string>>;
  stream: UpstreamStream;
  format: StreamFormat;
  /** Values scrubbed from an upstream error sent in the final frame. */
  secrets: readonly string[];
  /** Runs once, when the stream ends, fails or the client leaves (see StreamEnd). */
  onEnd: StreamEndCallback;
  /** How long the client's socket may stay full before the client is cut off. */
  clientStallMs: number;
  /**
   * The gateway's shutdown, which tells a connection it closed from a client that left, and
   * whether the stream's connection is to end with it (the stop is draining).
   */
  shutdown: Pick<ShutdownNotice, 'begun' | 'draining'>;
}

/**
 * Relays an upstream chat stream (see RelayPieces) straight onto the Node server's response, its
 * status and headers going out with the first piece in one write. Through a web stream the Node
 * adapter sends the headers in a write of their own, then every piece after a chain of web-stream
 * reads: the extra write alone was ~4% of a streamed request's main-thread CPU
 * (`npm run bench:overhead`, profiled). A client that leaves (the response closes before its end)
 * aborts the upstream call; so does one that leaves its socket full for `clientStallMs`, whose
 * connection is then closed (recorded as 499 `client_stalled`). The gateway's shutdown stops the
 * upstream call, and the stream ends with the format's error frame (503 `shutting_down`); a
 * connection the stop still had to close (its client not reading) is recorded the same way.
 */
export function relayStreamTo(response: ServerResponse, options: RelayOptions): void {
  const { stream, shutdown } = options;
  const pieces = new RelayPieces(stream, options.format, options.secrets, options.onEnd);
  let gone = false;
  const left = () => {
    gone = true;
    pieces.cancel(shutdown.begun ? 'shutting_down' : 'client_closed');
  };
  response.once('close', left);
  // Kept for good: an `error` nobody hears would end the process.
  response.on('error', left);
  // Begun before the stop's drain, answered after it: the connection ends with the stream.
  if (shutdown.draining) response.setHeader('connection', 'close');
  response.writeHead(200, options.headers);
  const send = async () => {
    while (!gone) {
      const piece = await pieces.next();
      if (piece === null || gone) return;
      if (piece.last) {
        response.off('close', left);
        response.end(piece.text);
        return;
      }
      if (!response.write(piece.text)) {
        // The time a full socket takes to drain is the client's, not the upstream's silence.
        stream.clientBusy();
        if (!(await writable(response, options.clientStallMs))) {
          // A client that stops reading would otherwise hold its connection, the upstream call
          // and its key's concurrency slot for as long as it stays connected.
          gone = true;
          pieces.cancel('client_stalled');
          response.destroy();
          return;
        }
        stream.clientReady();
      }
    }
  };
  send().catch((err: unknown) => response.destroy(err instanceof Error ? err : undefined));
}
