import type { ChatCompletionTokenLogprob } from 'openai/resources/chat/completions';
import type {
  ResponseFunctionToolCall,
  ResponseOutputMessage,
} from 'openai/resources/responses/responses';
import { outputLogprobsOf } from './response-object.js';

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

/**
 * What began while a function call was streaming: another call, or text after a call. The call
 * streaming may still get arguments, and an item's events must not be cut by another's, so
 * these are written out whole, in the order they began, once the answer is complete.
 */
export type Held =
  | { kind: 'call'; index: number; callId: string; name: string; arguments: string }
  | { kind: 'message'; pieces: Piece[] };

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
