import type {
  ChatCompletionCreateParams,
  ChatCompletionMessageParam,
  ChatCompletionTool,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import type { ResponseInputItem } from 'openai/resources/responses/responses';
import { isRecord } from '../../runtime/is-record.js';
import type { ConversationItemLike } from './input-to-messages.js';
import { itemsToMessages } from './input-to-messages.js';
import type { ResponsesRequest } from './responses-request.js';
import { toolStrictness } from './strict-schema.js';

type Field = Record<string, unknown>;

/** This request's input as items: a plain string is one user message. */
export function inputItemsOf(request: ResponsesRequest): ResponseInputItem[] {
  const { input } = request.params;
  if (input === undefined || input === null) return [];
  return typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : input;
}

/** The ids of the stored items this request points at (`item_reference`), for the caller to load. */
export function referencedItemIds(request: ResponsesRequest): string[] {
  return inputItemsOf(request).flatMap((item) =>
    item.type === 'item_reference' && typeof item.id === 'string' ? [item.id] : [],
  );
}

function toolsOf(tools: unknown): ChatCompletionTool[] {
  if (!Array.isArray(tools)) return [];
  return tools.filter(isRecord).map((tool) => {
    // Strict as OpenAI's Responses API would run it (chat's default is non-strict).
    const { strict, parameters } = toolStrictness(tool);
    return {
      type: 'function',
      function: {
        name: String(tool.name),
        ...(typeof tool.description === 'string' ? { description: tool.description } : {}),
        ...(parameters ? { parameters } : {}),
        ...(strict || typeof tool.strict === 'boolean' ? { strict } : {}),
      },
    };
  });
}

function toolChoiceOf(choice: unknown): ChatCompletionToolChoiceOption | undefined {
  if (choice === 'none' || choice === 'auto' || choice === 'required') return choice;
  if (!isRecord(choice)) return undefined;
  if (choice.type === 'function') {
    return { type: 'function', function: { name: String(choice.name) } };
  }
  if (choice.type === 'allowed_tools' && Array.isArray(choice.tools)) {
    return {
      type: 'allowed_tools',
      allowed_tools: {
        mode: choice.mode === 'required' ? 'required' : 'auto',
        tools: choice.tools
          .filter(isRecord)
          .map((tool) => ({ type: 'function', function: { name: String(tool.name) } })),
      },
    };
  }
  return undefined;
}

function responseFormatOf(text: unknown): Field {
  if (!isRecord(text)) return {};
  const out: Field = {};
  const format = text.format;
  if (isRecord(format) && format.type === 'json_object') out.response_format = format;
  if (isRecord(format) && format.type === 'json_schema') {
    const { type: _type, ...schema } = format;
    out.response_format = { type: 'json_schema', json_schema: schema };
  }
  if (typeof text.verbosity === 'string') out.verbosity = text.verbosity;
  return out;
}

function logprobsOf(params: ResponsesRequest['params']): Field {
  const wanted = params.include?.includes('message.output_text.logprobs') === true;
  const top = params.top_logprobs ?? 0;
  if (!wanted && top === 0) return {};
  return { logprobs: true, ...(top > 0 ? { top_logprobs: top } : {}) };
}

/** Copies the fields whose name and meaning are the same in both APIs, when set. */
function sameNamed(params: Field): Field {
  const out: Field = {};
  for (const field of [
    'temperature',
    'top_p',
    'user',
    'safety_identifier',
    'prompt_cache_key',
    'prompt_cache_options',
    'prompt_cache_retention',
    'service_tier',
  ]) {
    if (params[field] !== undefined && params[field] !== null) out[field] = params[field];
  }
  return out;
}

/**
 * The chat-completions body that answers a Responses request: `instructions` as the first (system)
 * message, then the history items (earlier turns' input and output), then this input; flat function
 * tools nested; `text.format` as `response_format`; `max_output_tokens` as `max_completion_tokens`;
 * `reasoning.effort` as `reasoning_effort`. A stream always asks for usage: `response.completed`
 * carries it. `references` holds the stored items that `item_reference` inputs point at.
 */
export function toChatCompletionsBody(
  request: ResponsesRequest,
  history: readonly ConversationItemLike[] = [],
  references: ReadonlyMap<string, ConversationItemLike> = new Map(),
): ChatCompletionCreateParams {
  const { params } = request;
  const messages: ChatCompletionMessageParam[] = [];
  if (typeof params.instructions === 'string') {
    messages.push({ role: 'system', content: params.instructions });
  }
  messages.push(...itemsToMessages([...history, ...inputItemsOf(request)], references));
  const tools = toolsOf(params.tools);
  const toolChoice = toolChoiceOf(params.tool_choice);
  const body: Field = {
    model: request.model,
    messages,
    ...sameNamed(params as unknown as Field),
    ...(request.maxOutputTokens !== null ? { max_completion_tokens: request.maxOutputTokens } : {}),
    ...(tools.length > 0 ? { tools } : {}),
    ...(tools.length > 0 && toolChoice !== undefined ? { tool_choice: toolChoice } : {}),
    // Chat completions refuse parallel_tool_calls without tools.
    ...(tools.length > 0 && typeof params.parallel_tool_calls === 'boolean'
      ? { parallel_tool_calls: params.parallel_tool_calls }
      : {}),
    ...responseFormatOf(params.text),
    ...(typeof params.reasoning?.effort === 'string'
      ? { reasoning_effort: params.reasoning.effort }
      : {}),
    ...logprobsOf(params),
    ...(request.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  };
  return body as unknown as ChatCompletionCreateParams;
}
