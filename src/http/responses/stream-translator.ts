import type {
  ChatCompletionChunk,
  ChatCompletionTokenLogprob,
} from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { ResponseOutputItem } from 'openai/resources/responses/responses';
import { newItemId } from './item-ids.js';
import {
  reasoningClosed,
  reasoningDelta,
  reasoningItem,
  reasoningOpened,
  reasoningTextOf,
  wantsReasoningSummary,
} from './reasoning-items.js';
import type { ResponseContext, ResponseObject } from './response-shell.js';
import { finishedResponse, responseShell } from './response-shell.js';
import type { StreamFailure } from './stream-frames.js';
import { failedFrames, responseFrame } from './stream-frames.js';
import {
  callArgumentsDelta,
  callClosed,
  type Held,
  holdReasoning,
  holdText,
  messageAdded,
  messageItem,
  type OpenCall,
  type OpenMessage,
  type OpenReasoning,
  outputSoFar,
  type PartType,
  partAdded,
  partClosed,
  partDelta,
} from './stream-items.js';

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
 * with its own) follows whole at the end.
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
  readonly #items: ResponseOutputItem[] = [];
  #open: OpenMessage | OpenCall | OpenReasoning | null = null;
  /** Calls by their index in the upstream's deltas, whether streaming, held or closed. */
  readonly #calls = new Map<number, OpenCall | Extract<Held, { kind: 'call' }>>();
  #held: Held[] = [];
  #model: string;
  #finishReason: string | null = null;
  #usage: CompletionUsage | null = null;
  #serviceTier: string | null = null;
  readonly #writer = (type: string, payload: Record<string, unknown>) => this.#frame(type, payload);

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
    if (thought !== '') out += this.#reasoning(thought);
    if (typeof delta.content === 'string' && delta.content !== '') {
      out += this.#text('output_text', delta.content, choice.logprobs?.content ?? []);
    }
    if (typeof delta.refusal === 'string' && delta.refusal !== '') {
      out += this.#text('refusal', delta.refusal, []);
    }
    for (const call of delta.tool_calls ?? []) out += this.#toolCall(call);
    if (choice.finish_reason) {
      this.#finishReason = choice.finish_reason;
      out += this.#closeAll();
    }
    return out;
  }

  /** Whether what begins now must wait for the end: a call is streaming, or items wait already. */
  #holding(): boolean {
    return this.#open?.kind === 'call' || this.#held.length > 0;
  }

  #text(type: PartType, text: string, logprobs: ChatCompletionTokenLogprob[]): string {
    if (this.#holding()) {
      holdText(this.#held, { type, text, logprobs });
      return '';
    }
    return this.#openPart(type) + this.#textDelta(text, logprobs);
  }

  #reasoning(text: string): string {
    if (this.#holding()) {
      holdReasoning(this.#held, text);
      return '';
    }
    let out = '';
    if (this.#open?.kind !== 'reasoning') {
      out += this.#close();
      const opened: OpenReasoning = {
        kind: 'reasoning',
        outputIndex: this.#items.length,
        id: newItemId('rs'),
        text: '',
      };
      this.#open = opened;
      this.#items.push(reasoningItem(opened.id, ''));
      out += reasoningOpened(this.#writer, opened);
    }
    const open = this.#open as OpenReasoning;
    open.text += text;
    return out + reasoningDelta(this.#writer, open, text);
  }

  /** Opens a message (closing the item before it) and a part of this type in it, as needed. */
  #openPart(type: PartType): string {
    let out = '';
    if (this.#open?.kind !== 'message') {
      out += this.#close();
      const message: OpenMessage = {
        kind: 'message',
        outputIndex: this.#items.length,
        id: newItemId('msg'),
        parts: [],
      };
      this.#open = message;
      this.#items.push(messageItem(message, 'in_progress'));
      out += messageAdded(this.#writer, message);
    }
    const message = this.#open as OpenMessage;
    const part = message.parts.at(-1);
    if (part?.type === type) return out;
    if (part !== undefined) out += partClosed(this.#writer, message);
    message.parts.push({ type, text: '', logprobs: [] });
    return out + partAdded(this.#writer, message);
  }

  /** Adds text to the open message's last part. */
  #textDelta(text: string, logprobs: ChatCompletionTokenLogprob[]): string {
    const message = this.#open as OpenMessage;
    const part = message.parts.at(-1);
    if (part === undefined) return '';
    part.text += text;
    part.logprobs.push(...logprobs);
    return partDelta(this.#writer, message, text, logprobs);
  }

  #toolCall(call: ChatCompletionChunk.Choice.Delta.ToolCall): string {
    const fragment = call.function?.arguments ?? '';
    const known = this.#calls.get(call.index);
    if (known !== undefined && !('item' in known)) {
      known.arguments += fragment;
      return '';
    }
    if (known !== undefined) {
      known.item.arguments += fragment;
      // Only the streaming call has its events still open (a closed one's were sent whole).
      if (this.#open !== known || fragment === '') return '';
      return callArgumentsDelta(this.#writer, known, fragment);
    }
    const callId = call.id ?? newItemId('call');
    const name = call.function?.name ?? '';
    if (this.#holding()) {
      const held: Held = { kind: 'call', index: call.index, callId, name, arguments: fragment };
      this.#calls.set(call.index, held);
      this.#held.push(held);
      return '';
    }
    return this.#openCall(call.index, callId, name, fragment);
  }

  /** Opens a function call item (closing the item before it), with its first arguments if any. */
  #openCall(index: number, callId: string, name: string, fragment: string): string {
    let out = this.#close();
    const open: OpenCall = {
      kind: 'call',
      outputIndex: this.#items.length,
      item: {
        id: newItemId('fc'),
        type: 'function_call',
        status: 'in_progress',
        arguments: '',
        call_id: callId,
        name,
      },
    };
    this.#calls.set(index, open);
    this.#open = open;
    this.#items.push(open.item);
    out += this.#frame('response.output_item.added', {
      output_index: open.outputIndex,
      item: { ...open.item },
    });
    if (fragment === '') return out;
    open.item.arguments = fragment;
    return out + callArgumentsDelta(this.#writer, open, fragment);
  }

  /** Ends the open item, if any: its closing deltas, then output_item.done with the final item. */
  #close(): string {
    const open = this.#open;
    if (open === null) return '';
    this.#open = null;
    if (open.kind === 'reasoning') {
      this.#items[open.outputIndex] = reasoningItem(open.id, open.text);
      return reasoningClosed(this.#writer, open);
    }
    if (open.kind === 'call') {
      open.item.status = 'completed';
      return callClosed(this.#writer, open);
    }
    const cut = this.#finishReason === 'length' || this.#finishReason === 'content_filter';
    const item = messageItem(open, cut ? 'incomplete' : 'completed');
    this.#items[open.outputIndex] = item;
    return (
      partClosed(this.#writer, open) +
      this.#frame('response.output_item.done', { output_index: open.outputIndex, item })
    );
  }

  /**
   * The answer is complete: closes the open item, writes out the held ones whole, in the order
   * they began, and, when nothing was said at all, one empty message.
   */
  #closeAll(): string {
    let out = this.#close();
    const held = this.#held;
    this.#held = [];
    for (const item of held) {
      if (item.kind === 'call') {
        out += this.#openCall(item.index, item.callId, item.name, item.arguments);
      } else if (item.kind === 'reasoning') {
        out += this.#reasoning(item.text);
      } else {
        for (const piece of item.pieces) {
          out += this.#openPart(piece.type) + this.#textDelta(piece.text, piece.logprobs);
        }
      }
      out += this.#close();
    }
    if (this.#items.length === 0) out += this.#openPart('output_text') + this.#close();
    return out;
  }

  /** The end of the upstream stream: closes what is open, then `response.completed` (or `.incomplete`). */
  finish(): string {
    let out = this.start();
    if (this.#final !== null) return out;
    out += this.#closeAll();
    return out + this.#completed(this.#finishedResponse());
  }

  /**
   * finish() with a step between the finished response and its closing event: `keep` stores it
   * (and may change what the event says, e.g. `store`), so the client's last event comes after it.
   */
  async finishKept(keep: (response: ResponseObject) => Promise<ResponseObject>): Promise<string> {
    let out = this.start();
    if (this.#final !== null) return out;
    out += this.#closeAll();
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
      finishReason: this.#finishReason,
      output: this.#items.map((item) => structuredClone(item)),
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

  /**
   * The output as far as it went: every item begun, the one still open with what it had received
   * and status `incomplete`; held items (never announced to the client) are left out.
   */

  /** The response of a stream that ended before its answer did, with the output so far. */
  #unfinishedResponse(
    status: 'failed' | 'cancelled',
    error: ResponseObject['error'],
  ): ResponseObject {
    return {
      ...responseShell(this.#context, status),
      model: this.#model,
      error,
      output: outputSoFar(this.#items, this.#open),
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
