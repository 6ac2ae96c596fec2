import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { reasoningTextOf, wantsReasoningSummary } from './reasoning-items.js';
import type { ResponseContext, ResponseObject } from './response-shell.js';
import { finishedResponse, responseShell } from './response-shell.js';
import type { StreamFailure } from './stream-frames.js';
import { failedFrames, responseFrame } from './stream-frames.js';
import { StreamedOutput } from './stream-output.js';

/** Options of a stream translator: the clock that stamps `completed_at`. */
export interface StreamTranslatorOptions {
  /** Milliseconds since the epoch; `Date.now` unless a test fixes it. */
  now?: () => number;
}

/**
 * Turns a chat-completions stream, one chunk at a time, into the Responses API's named events:
 * created and in_progress first, then per output item added → deltas → done (one item open at a
 * time, ids stable across its events), and completed (or incomplete) with the full response and
 * usage once the upstream stream has ended. Only the first choice is translated: a response has one.
 * Reasoning (when a summary is asked for), the message and the first function call stream as they
 * arrive; what begins while a call is streaming (the next calls, whose arguments may interleave
 * with its own), and reasoning that comes once the answer has begun, follows whole at the end.
 * An answer with nothing to show is one empty message, as in the JSON answer.
 */
export class ResponsesStreamTranslator {
  readonly #context: ResponseContext;
  readonly #now: () => number;
  /** Whether the upstream's reasoning is shown, as a reasoning item (`reasoning.summary`). */
  readonly #summaries: boolean;
  #sequence = 0;
  #started = false;
  #final: ResponseObject | null = null;
  /** Storing the finished response refused it (its turn clashes with its conversation). */
  #refused = false;
  #model: string;
  #usage: CompletionUsage | null = null;
  #serviceTier: string | null = null;
  readonly #writer = (type: string, payload: Record<string, unknown>) => this.#frame(type, payload);
  readonly #output = new StreamedOutput(this.#writer);

  constructor(context: ResponseContext, options: StreamTranslatorOptions = {}) {
    this.#context = context;
    this.#now = options.now ?? Date.now;
    this.#summaries = wantsReasoningSummary(context.request);
    this.#model = context.request.model;
  }

  /** The finished (or failed) response, once `finish()` or `fail()` has run; for storage. */
  get response(): ResponseObject | null {
    return this.#final;
  }

  #frame(type: string, payload: Record<string, unknown>): string {
    return responseFrame(type, this.#sequence++, payload);
  }

  /** `response.created` and `response.in_progress`; sent once, before anything else. */
  start(): string {
    if (this.#started) return '';
    this.#started = true;
    const response = { ...responseShell(this.#context, 'in_progress'), model: this.#model };
    return (
      this.#frame('response.created', { response }) +
      this.#frame('response.in_progress', { response })
    );
  }

  /** The events for one upstream chunk (possibly none). */
  push(chunk: ChatCompletionChunk): string {
    let out = this.start();
    if (this.#final !== null) return out;
    this.#model = chunk.model || this.#model;
    if (chunk.service_tier) this.#serviceTier = chunk.service_tier;
    if (chunk.usage) this.#usage = chunk.usage;
    // A usage chunk may leave out its (empty) choices.
    const choice = (chunk.choices ?? []).find((c) => c.index === 0);
    if (choice === undefined) return out;
    const { delta } = choice;
    // A model reasons before it answers: its reasoning item comes first.
    const thought = this.#summaries ? reasoningTextOf(delta) : '';
    const output = this.#output;
    if (thought !== '') out += output.reasoning(thought);
    if (typeof delta.content === 'string' && delta.content !== '') {
      out += output.text('output_text', delta.content, choice.logprobs?.content ?? []);
    }
    if (typeof delta.refusal === 'string' && delta.refusal !== '') {
      out += output.text('refusal', delta.refusal, []);
    }
    for (const call of delta.tool_calls ?? []) out += output.toolCall(call);
    if (choice.finish_reason) {
      output.finishReason = choice.finish_reason;
      out += output.closeAll();
    }
    return out;
  }

  /** The end of the upstream stream: closes what is open, then `response.completed` (or `.incomplete`). */
  finish(): string {
    let out = this.start();
    if (this.#final !== null) return out;
    out += this.#output.closeAll();
    return out + this.#completed(this.#finishedResponse());
  }

  /**
   * finish() with a step between the finished response and its closing event: `keep` stores it
   * (and may change what the event says, e.g. `store`), so the client's last event comes after it.
   */
  async finishKept(keep: (response: ResponseObject) => Promise<ResponseObject>): Promise<string> {
    let out = this.start();
    if (this.#final !== null) return out;
    out += this.#output.closeAll();
    const finished = this.#finishedResponse();
    // Ended: a client that leaves while it is stored does not make it a cancelled one.
    this.#final = finished;
    let kept: ResponseObject;
    try {
      kept = await keep(finished);
    } catch (err) {
      // Refused as it was stored: the stream fails with the refusal (see failKept), kept nowhere.
      this.#final = null;
      this.#refused = true;
      throw err;
    }
    return out + this.#completed(kept);
  }

  #finishedResponse(): ResponseObject {
    return finishedResponse({
      context: this.#context,
      model: this.#model,
      finishReason: this.#output.finishReason,
      output: this.#output.items(),
      usage: this.#usage,
      serviceTier: this.#serviceTier,
      completedAt: Math.floor(this.#now() / 1000),
    });
  }

  #completed(response: ResponseObject): string {
    this.#final = response;
    const type = response.status === 'incomplete' ? 'response.incomplete' : 'response.completed';
    return this.#frame(type, { response });
  }

  /** The response of a stream that ended before its answer did, with the output so far. */
  #unfinishedResponse(
    status: 'failed' | 'cancelled',
    error: ResponseObject['error'],
  ): ResponseObject {
    return {
      ...responseShell(this.#context, status),
      model: this.#model,
      error,
      output: this.#output.soFar(),
      usage: null,
    };
  }

  #failedResponse(error: StreamFailure): ResponseObject {
    return this.#unfinishedResponse('failed', { code: 'server_error', message: error.message });
  }

  /**
   * An upstream failure after the stream began: `response.failed` with the output so far, then an
   * `error` event (in both the flat and the nested shape clients parse). Nothing follows it.
   */
  fail(error: StreamFailure): string {
    let out = this.start();
    if (this.#final !== null) return out;
    out += this.#failed(this.#failedResponse(error), error);
    return out;
  }

  /**
   * fail() with a step between the failed response and its events: `keep` stores it (and may
   * change what the events say, e.g. `store`), so a client that reads `response.failed` and
   * retrieves the response finds it.
   */
  async failKept(
    error: StreamFailure,
    keep: (response: ResponseObject) => Promise<ResponseObject>,
  ): Promise<string> {
    const out = this.start();
    if (this.#final !== null) return out;
    const failed = this.#failedResponse(error);
    // A response its store refused is not stored failed either: the request was refused.
    if (this.#refused) return out + this.#failed(failed, error);
    // Nothing more is translated while it is stored: the stream has ended.
    this.#final = failed;
    return out + this.#failed(await keep(failed), error);
  }

  /**
   * The client left before the end: the response as it stood, `cancelled` (the gateway stopped
   * its upstream call), for storing; null once the response had ended. Nothing is sent.
   */
  cancel(): ResponseObject | null {
    if (this.#final !== null) return null;
    this.#final = this.#unfinishedResponse('cancelled', null);
    return this.#final;
  }

  #failed(response: ResponseObject, error: StreamFailure): string {
    this.#final = response;
    return failedFrames(this.#writer, response, error);
  }
}
