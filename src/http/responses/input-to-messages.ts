import type {
  ChatCompletionAssistantMessageParam,
  ChatCompletionContentPart,
  ChatCompletionContentPartText,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { ResponseInputItem, ResponseItem } from 'openai/resources/responses/responses';
import { isRecord } from '../../runtime/is-record.js';
import { GatewayError } from '../errors.js';

/** An item of a conversation as a client sends it or as it was stored (with an id). */
export type ConversationItemLike = ResponseInputItem | ResponseItem;

type Item = Record<string, unknown>;
type ImageDetail = 'auto' | 'low' | 'high';
type Breakpoint = ChatCompletionContentPartText.PromptCacheBreakpoint;

/**
 * A part's `prompt_cache_breakpoint` (the end of a prefix the provider should cache), for the
 * chat part it becomes: the field has the same name and meaning there.
 */
function breakpointOf(part: Item): { prompt_cache_breakpoint?: Breakpoint } {
  const breakpoint = part.prompt_cache_breakpoint;
  return isRecord(breakpoint)
    ? { prompt_cache_breakpoint: breakpoint as unknown as Breakpoint }
    : {};
}

function textOf(part: Item): string {
  if (typeof part.text === 'string') return part.text;
  return typeof part.refusal === 'string' ? part.refusal : '';
}

function userPart(part: Item): ChatCompletionContentPart {
  if (part.type === 'input_image') {
    const detail = part.detail;
    const known = detail === 'auto' || detail === 'low' || detail === 'high';
    return {
      type: 'image_url',
      image_url: {
        url: String(part.image_url),
        ...(known ? { detail: detail as ImageDetail } : {}),
      },
      ...breakpointOf(part),
    };
  }
  if (part.type === 'input_file') {
    const file: { file_data?: string; file_id?: string; filename?: string } = {};
    if (typeof part.file_data === 'string') file.file_data = part.file_data;
    if (typeof part.file_id === 'string') file.file_id = part.file_id;
    if (typeof part.filename === 'string') file.filename = part.filename;
    return { type: 'file', file, ...breakpointOf(part) };
  }
  return { type: 'text', text: textOf(part), ...breakpointOf(part) };
}

function partsOf(content: unknown): Item[] {
  return Array.isArray(content) ? content.filter(isRecord) : [];
}

function textParts(content: unknown): ChatCompletionContentPartText[] {
  return partsOf(content).map((part) => ({
    type: 'text',
    text: textOf(part),
    ...breakpointOf(part),
  }));
}

function messageOf(item: Item): ChatCompletionMessageParam {
  const { role, content } = item;
  if (role === 'assistant') {
    const parts = partsOf(content);
    const refusal = parts.find((p) => p.type === 'refusal');
    const texts = parts.filter((p) => p.type !== 'refusal');
    // Joined into one string, unless a part marks a cache breakpoint: only a part can carry it.
    const text =
      typeof content === 'string'
        ? content
        : texts.some((p) => isRecord(p.prompt_cache_breakpoint))
          ? textParts(texts)
          : texts.map(textOf).join('');
    return {
      role: 'assistant',
      content: text,
      ...(refusal ? { refusal: textOf(refusal) } : {}),
    };
  }
  if (role === 'system' || role === 'developer') {
    return { role, content: typeof content === 'string' ? content : textParts(content) };
  }
  if (typeof content === 'string') return { role: 'user', content };
  const parts = partsOf(content).map(userPart);
  const [only] = parts;
  // One text part is sent as a plain string (every chat upstream takes that), unless it marks a
  // cache breakpoint: only a part can carry one.
  if (parts.length === 1 && only?.type === 'text' && only.prompt_cache_breakpoint === undefined) {
    return { role: 'user', content: only.text };
  }
  return { role: 'user', content: parts };
}

function toolOutputOf(item: Item): ChatCompletionMessageParam {
  const output = typeof item.output === 'string' ? item.output : textParts(item.output);
  return { role: 'tool', tool_call_id: String(item.call_id), content: output };
}

/** Appends a function call to the assistant turn it belongs to, opening one if needed. */
function addFunctionCall(messages: ChatCompletionMessageParam[], item: Item): void {
  const last = messages.at(-1);
  const call = {
    id: String(item.call_id),
    type: 'function' as const,
    function: { name: String(item.name), arguments: String(item.arguments) },
  };
  if (last?.role === 'assistant') {
    const assistant: ChatCompletionAssistantMessageParam = last;
    assistant.tool_calls = [...(assistant.tool_calls ?? []), call];
    return;
  }
  messages.push({ role: 'assistant', content: null, tool_calls: [call] });
}

function resolve(item: Item, references: ReadonlyMap<string, ConversationItemLike>): Item {
  if (item.type !== 'item_reference') return item;
  const found = references.get(String(item.id));
  if (found === undefined) {
    throw GatewayError.invalidRequest(
      `Item with id '${String(item.id)}' not found. Items are not persisted when \`store\` is set to false.`,
      'input',
      'item_not_found',
    );
  }
  return found as unknown as Item;
}

/**
 * Turns Responses items (history first, then this request's input) into chat messages: function
 * calls join the assistant turn before them, outputs become tool messages, and reasoning items
 * (the gateway's own, or ones a client sent, by reference or whole) are dropped: a chat upstream
 * has no way to take them back, and their summary is no message of the conversation.
 */
export function itemsToMessages(
  items: readonly ConversationItemLike[],
  references: ReadonlyMap<string, ConversationItemLike>,
): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [];
  for (const raw of items) {
    const item = resolve(raw as unknown as Item, references);
    const type = item.type ?? 'message';
    if (type === 'message') messages.push(messageOf(item));
    else if (type === 'function_call') addFunctionCall(messages, item);
    else if (type === 'function_call_output') messages.push(toolOutputOf(item));
  }
  return messages;
}
