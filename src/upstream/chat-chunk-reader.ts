import { APIError } from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { SseEvent } from './sse-decoder.js';
import { SseDecoder } from './sse-decoder.js';
import { UpstreamFailure } from './upstream-failure.js';

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * Reads the chunks of a streamed chat completion straight from the upstream's event-stream bytes,
 * as the openai SDK's stream reads them: each unnamed or named event's data is one JSON chunk,
 * `[DONE]` ends the answer (the rest of the body is still read, so its connection can be reused),
 * and a chunk carrying `error` fails the stream with the SDK's own `APIError` (no HTTP status: the
 * provider failed mid-answer). Chunks that arrived before a failure are still handed out first.
 */
export class ChatChunkReader implements AsyncIterator<ChatCompletionChunk> {
  private readonly decoder = new SseDecoder();
  private queue: ChatCompletionChunk[] = [];
  /** The data text of each queued chunk, as the upstream sent it. */
  private texts: string[] = [];
  private head = 0;
  private lastText: string | null = null;
  private failure: Error | null = null;
  private sawDone = false;
  private ended = false;

  constructor(
    private readonly source: AsyncIterator<Uint8Array>,
    /** The response's headers, kept on a mid-stream APIError as the SDK keeps them. */
    private readonly headers: Headers,
  ) {}

  async next(): Promise<IteratorResult<ChatCompletionChunk>> {
    for (;;) {
      const value = this.ready();
      if (value) return { done: false, value };
      if (this.failure) throw this.failure;
      if (this.ended) return DONE;
      const piece = await this.source.next();
      if (piece.done) {
        this.decoder.end();
        this.ended = true;
        return DONE;
      }
      this.queue = [];
      this.texts = [];
      this.head = 0;
      for (const event of this.decoder.push(piece.value)) {
        this.take(event);
        if (this.failure) break;
      }
    }
  }

  /** The next chunk if it has already arrived, without waiting; null otherwise. */
  ready(): ChatCompletionChunk | null {
    if (this.head >= this.queue.length) return null;
    this.lastText = this.texts[this.head] ?? null;
    return this.queue[this.head++] ?? null;
  }

  /** True once the upstream closed its answer with `data: [DONE]`. */
  get endedWithDone(): boolean {
    return this.sawDone;
  }

  /** The JSON text of the chunk handed out last, exactly as the upstream sent it. */
  lastRaw(): string | null {
    return this.lastText;
  }

  async return(): Promise<IteratorResult<ChatCompletionChunk>> {
    this.ended = true;
    await this.source.return?.();
    return DONE;
  }

  private take(event: SseEvent): void {
    if (this.sawDone) return;
    if (event.data.startsWith('[DONE]')) {
      this.sawDone = true;
      return;
    }
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      this.failure = badEvent('upstream sent a stream event that is not JSON');
      return;
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      this.failure = badEvent('upstream sent a stream event that is not a JSON object');
      return;
    }
    const error = (data as { error?: unknown }).error;
    if (error) {
      this.failure = new APIError(undefined, error as object, undefined, this.headers);
      return;
    }
    this.queue.push(data as ChatCompletionChunk);
    this.texts.push(event.data);
  }
}

/** A stream whose events cannot be read: a connection-level failure, named as such in the log. */
function badEvent(message: string): UpstreamFailure {
  return new UpstreamFailure({ kind: 'connection', message, reason: 'bad event stream' });
}
