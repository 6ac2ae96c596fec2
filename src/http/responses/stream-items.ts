import type { ChatCompletionTokenLogprob } from 'openai/resources/chat/completions';
import type {
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseOutputMessage,
} from 'openai/resources/responses/responses';
import { reasoningItem, type StreamedReasoning } from './reasoning-items.js';
import { outputLogprobsOf } from './response-object.js';
import { deltaLogprobsOf, type FrameWriter } from './stream-frames.js';

/**
 * The output items a Responses stream builds while chunks arrive (see ResponsesStreamTranslator):
 * the message or function call open now, what waits to be written whole, and how a message and
 * its parts look as items.
 */

export type PartType = 'output_text' | 'refusal';

/** Text of one kind as it arrived, with its logprobs. */
export type Piece = { type: PartType; text: string; logprobs: ChatCompletionTokenLogprob[] };

/** The message being streamed: its parts so far, the last one open. */
export interface OpenMessage {
  kind: 'message';
  outputIndex: number;
  id: string;
  parts: Piece[];
}

/** The function call being streamed. */
export interface OpenCall {
  kind: 'call';
  outputIndex: number;
  item: ResponseFunctionToolCall & { id: string };
}

/** The reasoning being streamed, as one summary text. */
export interface OpenReasoning extends StreamedReasoning {
  kind: 'reasoning';
}

/**
 * What began while a function call was streaming: another call, or text or reasoning after a
 * call; or reasoning after the message began. The call streaming may still get arguments, and an
 * item's events must not be cut by another's, so these are written out whole, in the order they
 * began, once the answer is complete.
 */
export type Held =
  | { kind: 'call'; index: number; callId: string; name: string; arguments: string }
  | { kind: 'message'; pieces: Piece[] }
  | { kind: 'reasoning'; text: string };

/** Where a message's last part stands, as its events name it. */
export function whereIn(message: OpenMessage): Record<string, unknown> {
  return {
    item_id: message.id,
    output_index: message.outputIndex,
    content_index: message.parts.length - 1,
  };
}

/** A part as the message item holds it. */
export function partBody(part: Piece): ResponseOutputMessage['content'][number] {
  if (part.type === 'refusal') return { type: 'refusal', refusal: part.text };
  return {
    type: 'output_text',
    annotations: [],
    logprobs: outputLogprobsOf(part.logprobs),
    text: part.text,
  };
}

/** A message as an output item, with the given status. */
export function messageItem(
  message: OpenMessage,
  status: ResponseOutputMessage['status'],
): ResponseOutputMessage {
  return {
    id: message.id,
    type: 'message',
    status,
    content: message.parts.map((part) => partBody(part)),
    role: 'assistant',
  };
}

/** The event that adds a message, still empty. */
export function messageAdded(frame: FrameWriter, message: OpenMessage): string {
  return frame('response.output_item.added', {
    output_index: message.outputIndex,
    item: { ...messageItem(message, 'in_progress'), content: [] },
  });
}

/** The event that adds the message's last part, still empty. */
export function partAdded(frame: FrameWriter, message: OpenMessage): string {
  const part = message.parts.at(-1);
  if (part === undefined) return '';
  return frame('response.content_part.added', {
    ...whereIn(message),
    part: part.type === 'refusal' ? { type: 'refusal', refusal: '' } : partBody(part),
  });
}

/** The event for more text of the message's last part (its logprobs with output text). */
export function partDelta(
  frame: FrameWriter,
  message: OpenMessage,
  delta: string,
  logprobs: readonly ChatCompletionTokenLogprob[],
): string {
  const part = message.parts.at(-1);
  if (part === undefined) return '';
  if (part.type === 'refusal')
    return frame('response.refusal.delta', { ...whereIn(message), delta });
  return frame('response.output_text.delta', {
    ...whereIn(message),
    delta,
    logprobs: deltaLogprobsOf(logprobs),
  });
}

/** The event for more arguments of the function call being streamed. */
export function callArgumentsDelta(frame: FrameWriter, call: OpenCall, delta: string): string {
  return frame('response.function_call_arguments.delta', {
    item_id: call.item.id,
    output_index: call.outputIndex,
    delta,
  });
}

/** The events that close a function call item: its whole arguments, then the item. */
export function callClosed(frame: FrameWriter, call: OpenCall): string {
  return (
    frame('response.function_call_arguments.done', {
      item_id: call.item.id,
      output_index: call.outputIndex,
      arguments: call.item.arguments,
      name: call.item.name,
    }) +
    frame('response.output_item.done', { output_index: call.outputIndex, item: { ...call.item } })
  );
}

/** The events that close a message's last part: its whole text (or refusal), then the part. */
export function partClosed(frame: FrameWriter, message: OpenMessage): string {
  const part = message.parts.at(-1);
  if (part === undefined) return '';
  const where = whereIn(message);
  const done =
    part.type === 'refusal'
      ? frame('response.refusal.done', { ...where, refusal: part.text })
      : frame('response.output_text.done', {
          ...where,
          text: part.text,
          logprobs: deltaLogprobsOf(part.logprobs),
        });
  return done + frame('response.content_part.done', { ...where, part: partBody(part) });
}

/**
 * The output of a stream that ended early: every item begun, the one still `open` with what it
 * had received and status `incomplete`.
 */
export function outputSoFar(
  items: readonly ResponseOutputItem[],
  open: OpenMessage | OpenCall | OpenReasoning | null,
): ResponseOutputItem[] {
  return items.map((item, index) => {
    if (open === null || open.outputIndex !== index) return structuredClone(item);
    if (open.kind === 'call') return { ...structuredClone(open.item), status: 'incomplete' };
    if (open.kind === 'reasoning') return reasoningItem(open.id, open.text, 'incomplete');
    return messageItem(open, 'incomplete');
  });
}

/** Keeps text that began while a call was streaming, joined to the held message's last piece. */
export function holdText(held: Held[], piece: Piece): void {
  let message = held.find((item) => item.kind === 'message');
  if (message === undefined) {
    message = { kind: 'message', pieces: [] };
    held.push(message);
  }
  const last = message.pieces.at(-1);
  if (last?.type === piece.type) {
    last.text += piece.text;
    last.logprobs.push(...piece.logprobs);
  } else {
    message.pieces.push({ ...piece, logprobs: [...piece.logprobs] });
  }
}

/** Keeps reasoning that began once the answer had (a message or a call), as one item. */
export function holdReasoning(held: Held[], text: string): void {
  const reasoning = held.find((item) => item.kind === 'reasoning');
  if (reasoning === undefined) held.push({ kind: 'reasoning', text });
  else reasoning.text += text;
}
