import type {
  ResponseInputMessageContentList,
  ResponseItem,
  ResponseOutputMessage,
  ResponseReasoningItem,
} from 'openai/resources/responses/responses';
import { isRecord } from '../../runtime/is-record.js';
import { inputItemsOf } from './chat-body.js';
import type { ConversationItemLike } from './input-to-messages.js';
import { newItemId } from './item-ids.js';
import type { ResponseObject } from './response-shell.js';
import type { ResponsesRequest } from './responses-request.js';

type Item = Record<string, unknown>;

function idOf(item: Item, prefix: 'msg' | 'fc' | 'fco' | 'rs'): string {
  return typeof item.id === 'string' && item.id !== '' ? item.id : newItemId(prefix);
}

function inputContent(content: unknown): ResponseInputMessageContentList {
  if (typeof content === 'string') return [{ type: 'input_text', text: content }];
  if (!Array.isArray(content)) return [];
  return content.filter(isRecord).map((part) => {
    if (part.type !== 'input_image')
      return part as unknown as ResponseInputMessageContentList[number];
    const detail = typeof part.detail === 'string' ? part.detail : 'auto';
    return {
      type: 'input_image',
      detail: detail as 'auto',
      file_id: typeof part.file_id === 'string' ? part.file_id : null,
      image_url: typeof part.image_url === 'string' ? part.image_url : null,
    };
  });
}

function outputContent(content: unknown): ResponseOutputMessage['content'] {
  const parts = typeof content === 'string' ? [{ type: 'output_text', text: content }] : content;
  if (!Array.isArray(parts)) return [];
  return parts.filter(isRecord).map((part) =>
    part.type === 'refusal'
      ? { type: 'refusal', refusal: String(part.refusal) }
      : {
          type: 'output_text',
          text: String(part.text),
          annotations: Array.isArray(part.annotations) ? part.annotations : [],
        },
  );
}

/** A part list of a reasoning item, each part as OpenAI shapes it: its type and text only. */
function reasoningParts<T extends 'summary_text' | 'reasoning_text'>(
  parts: unknown,
  type: T,
): { type: T; text: string }[] {
  if (!Array.isArray(parts)) return [];
  return parts.filter(isRecord).map((part) => ({ type, text: String(part.text) }));
}

/**
 * A reasoning item a client sent (an earlier response's, sent back by a client that keeps the
 * history itself), kept as OpenAI keeps it: its id (a new `rs_…` one when it came without),
 * summary, and the `content` and `encrypted_content` it came with. Like the gateway's own reasoning
 * items it has no status, so an output item sent back is listed as it was answered. It never goes
 * upstream (see input-to-messages.ts).
 */
function reasoningInputItem(item: Item): ResponseReasoningItem {
  return {
    id: idOf(item, 'rs'),
    type: 'reasoning',
    summary: reasoningParts(item.summary, 'summary_text'),
    ...(Array.isArray(item.content)
      ? { content: reasoningParts(item.content, 'reasoning_text') }
      : {}),
    ...(typeof item.encrypted_content === 'string'
      ? { encrypted_content: item.encrypted_content }
      : {}),
  };
}

function storedItem(item: Item): ResponseItem | null {
  const type = item.type ?? 'message';
  if (type === 'message' && item.role === 'assistant') {
    return {
      id: idOf(item, 'msg'),
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: outputContent(item.content),
    };
  }
  if (type === 'message') {
    const role = item.role as 'user' | 'system' | 'developer';
    return {
      id: idOf(item, 'msg'),
      type: 'message',
      role,
      status: 'completed',
      content: inputContent(item.content),
    };
  }
  if (type === 'function_call') {
    return {
      id: idOf(item, 'fc'),
      type: 'function_call',
      status: 'completed',
      arguments: String(item.arguments),
      call_id: String(item.call_id),
      name: String(item.name),
    };
  }
  if (type === 'function_call_output') {
    return {
      id: idOf(item, 'fco'),
      type: 'function_call_output',
      status: 'completed',
      call_id: String(item.call_id),
      output: typeof item.output === 'string' ? item.output : (item.output as []),
    };
  }
  if (type === 'reasoning') return reasoningInputItem(item);
  // Validation lets no other type through (a reference is resolved by the caller).
  return null;
}

/**
 * Input items as they are stored (each with an id, strings as `input_text` parts), references
 * replaced by the items they name.
 */
export function storedItemsOf(
  items: readonly unknown[],
  references: ReadonlyMap<string, ConversationItemLike> = new Map(),
): ResponseItem[] {
  return items.filter(isRecord).flatMap((item) => {
    if (item.type === 'item_reference') {
      const found = references.get(String(item.id));
      return found === undefined ? [] : [found as ResponseItem];
    }
    const stored = storedItem(item);
    return stored === null ? [] : [stored];
  });
}

/**
 * This request's input as the items `GET /v1/responses/{id}/input_items` and a conversation show:
 * each with an id, strings as `input_text` parts, references replaced by the items they name.
 * Instructions are not items, as at OpenAI.
 */
export function storedInputItems(
  request: ResponsesRequest,
  references: ReadonlyMap<string, ConversationItemLike> = new Map(),
): ResponseItem[] {
  return storedItemsOf(inputItemsOf(request), references);
}

/**
 * A response's output as conversation items (they already carry their ids). Its reasoning is kept
 * too, as at OpenAI: a later request may name it in an `item_reference` (the Vercel AI SDK does,
 * with `store`), though it never goes upstream again.
 */
export function storedOutputItems(response: ResponseObject): ResponseItem[] {
  return response.output.filter(
    (item): item is ResponseItem & ResponseObject['output'][number] =>
      item.type === 'message' || item.type === 'function_call' || item.type === 'reasoning',
  );
}

/** The items a turn adds to its conversation, in order: its input, then its output. */
export function storedTurnItems(
  request: ResponsesRequest,
  response: ResponseObject,
  references: ReadonlyMap<string, ConversationItemLike> = new Map(),
): ResponseItem[] {
  return [...storedInputItems(request, references), ...storedOutputItems(response)];
}
