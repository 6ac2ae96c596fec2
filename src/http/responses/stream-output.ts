import type {
  ChatCompletionChunk,
  ChatCompletionTokenLogprob,
} from 'openai/resources/chat/completions';
import type { ResponseOutputItem } from 'openai/resources/responses/responses';
import { newItemId } from './item-ids.js';
import {
  reasoningClosed,
  reasoningDelta,
  reasoningItem,
  reasoningOpened,
} from './reasoning-items.js';
import type { FrameWriter } from './stream-frames.js';
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

/**
 * A response's output items as they stream: one item open at a time (reasoning, a message with
 * its parts, a function call), each announced, filled by deltas and closed with its final form;
 * what begins while a call is streaming (the next calls, whose arguments may interleave with its
 * own), and reasoning that comes once the answer has begun, is held and follows whole at the end.
 * Returns the events each step writes; the response's own lifecycle (created, completed, failed)
 * is the translator's.
 */
export class StreamedOutput {
  readonly #writer: FrameWriter;
  readonly #items: ResponseOutputItem[] = [];
  #open: OpenMessage | OpenCall | OpenReasoning | null = null;
  /** Calls by their index in the upstream's deltas, whether streaming, held or closed. */
  readonly #calls = new Map<number, OpenCall | Extract<Held, { kind: 'call' }>>();
  #held: Held[] = [];
  /** The upstream's finish reason, once known: a message cut by it closes `incomplete`. */
  finishReason: string | null = null;

  constructor(writer: FrameWriter) {
    this.#writer = writer;
  }

  /** Every item begun, each as it stands (a copy, for a finished response). */
  items(): ResponseOutputItem[] {
    return this.#items.map((item) => structuredClone(item));
  }

  /**
   * The output as far as it went: every item begun, the one still open with what it had received
   * and status `incomplete`; held items (never announced to the client) are left out.
   */
  soFar(): ResponseOutputItem[] {
    return outputSoFar(this.#items, this.#open);
  }

  /**
   * Whether what begins now must wait for the end: a call is streaming, or items wait already
   * (reasoning held alone does not stop the message it came during from streaming on).
   */
  #holding(): boolean {
    return this.#open?.kind === 'call' || this.#held.some((item) => item.kind !== 'reasoning');
  }

  text(type: PartType, text: string, logprobs: ChatCompletionTokenLogprob[]): string {
    if (this.#holding()) {
      holdText(this.#held, { type, text, logprobs });
      return '';
    }
    return this.#openPart(type) + this.#textDelta(text, logprobs);
  }

  /**
   * Reasoning streams while nothing else has begun. Reasoning that comes once the answer has (a
   * message or a call is open) waits for its end, and follows whole as one more reasoning item:
   * the message it came during stays one item, as in the JSON answer, rather than split in two.
   */
  reasoning(text: string): string {
    const answering = this.#open !== null && this.#open.kind !== 'reasoning';
    if (answering || this.#held.length > 0) {
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

  toolCall(call: ChatCompletionChunk.Choice.Delta.ToolCall): string {
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
    out += this.#writer('response.output_item.added', {
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
    const cut = this.finishReason === 'length' || this.finishReason === 'content_filter';
    const item = messageItem(open, cut ? 'incomplete' : 'completed');
    this.#items[open.outputIndex] = item;
    return (
      partClosed(this.#writer, open) +
      this.#writer('response.output_item.done', { output_index: open.outputIndex, item })
    );
  }

  /**
   * The answer is complete: closes the open item, writes out the held ones whole, in the order
   * they began, and, when nothing was said at all, one empty message.
   */
  closeAll(): string {
    let out = this.#close();
    const held = this.#held;
    this.#held = [];
    for (const item of held) {
      if (item.kind === 'call') {
        out += this.#openCall(item.index, item.callId, item.name, item.arguments);
      } else if (item.kind === 'reasoning') {
        out += this.reasoning(item.text);
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
}
