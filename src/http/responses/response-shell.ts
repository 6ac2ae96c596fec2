import type { CompletionUsage } from 'openai/resources/completions';
import type {
  Response,
  ResponseItem,
  ResponseOutputItem,
  ResponseUsage,
  Tool,
} from 'openai/resources/responses/responses';
import { isRecord } from '../../runtime/is-record.js';
import type { ResponsesRequest } from './responses-request.js';
import { toolStrictness } from './strict-schema.js';

/**
 * OpenAI's `response` object as the API sends it. `output_text` is left out: the API does not send
 * it (openai-node and openai-python compute it from `output`); `usage` is null until the end, and
 * `user` is null when unset, as on the wire.
 */
export type ResponseObject = Omit<Response, 'output_text' | 'usage' | 'user'> & {
  usage: ResponseUsage | null;
  user: string | null;
  store: boolean;
};

/** What a response needs besides the completion: its id and times, and the request it answers. */
export interface ResponseContext {
  /** `resp_…`, chosen by the caller so that what is sent and what is stored agree. */
  id: string;
  /** Unix seconds when the request arrived. */
  createdAt: number;
  request: ResponsesRequest;
  /** This request's input as stored items (ids given, references resolved), for storing. */
  inputItems?: readonly ResponseItem[];
}

type Status = NonNullable<Response['status']>;

function echoedTools(tools: unknown): Tool[] {
  if (!Array.isArray(tools)) return [];
  return tools.filter(isRecord).map((tool) => ({
    type: 'function',
    name: String(tool.name),
    description: typeof tool.description === 'string' ? tool.description : null,
    parameters: isRecord(tool.parameters) ? tool.parameters : null,
    strict: toolStrictness(tool).strict,
  }));
}

/** `prompt_cache_options` echoed with OpenAI's defaults filled in, when the request set it. */
function promptCacheOptionsOf(
  options: ResponsesRequest['params']['prompt_cache_options'] | null,
): Pick<ResponseObject, 'prompt_cache_options'> {
  if (options === undefined || options === null) return {};
  return {
    prompt_cache_options: { mode: options.mode ?? 'implicit', ttl: options.ttl ?? '30m' },
  };
}

/**
 * Every field of a response except its outcome (output, usage, status details): the request's
 * settings echoed back with OpenAI's defaults filled in, as the API does in each response and in
 * every lifecycle event of a stream.
 */
export function responseShell(context: ResponseContext, status: Status): ResponseObject {
  const { request } = context;
  const { params } = request;
  return {
    id: context.id,
    object: 'response',
    created_at: context.createdAt,
    status,
    background: false,
    completed_at: null,
    ...(request.conversationId !== null ? { conversation: { id: request.conversationId } } : {}),
    error: null,
    incomplete_details: null,
    instructions: params.instructions ?? null,
    max_output_tokens: request.maxOutputTokens,
    model: request.model,
    output: [],
    parallel_tool_calls: params.parallel_tool_calls ?? true,
    previous_response_id: request.previousResponseId,
    prompt_cache_key: params.prompt_cache_key ?? null,
    ...promptCacheOptionsOf(params.prompt_cache_options),
    prompt_cache_retention: params.prompt_cache_retention ?? null,
    reasoning: {
      effort: params.reasoning?.effort ?? null,
      summary: params.reasoning?.summary ?? null,
    },
    safety_identifier: params.safety_identifier ?? null,
    service_tier: params.service_tier ?? 'auto',
    store: request.store,
    temperature: params.temperature ?? 1,
    text: {
      format: params.text?.format ?? { type: 'text' },
      verbosity: params.text?.verbosity ?? 'medium',
    },
    tool_choice: params.tool_choice ?? 'auto',
    tools: echoedTools(params.tools),
    top_logprobs: params.top_logprobs ?? 0,
    top_p: params.top_p ?? 1,
    truncation: params.truncation ?? 'disabled',
    usage: null,
    user: request.user,
    metadata: params.metadata ?? {},
  };
}

/** Chat-completions usage in the Responses API's names. */
export function responseUsageOf(usage: CompletionUsage): ResponseUsage {
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: {
      cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
      cache_write_tokens: 0,
    },
    output_tokens: usage.completion_tokens,
    output_tokens_details: {
      reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
    },
    total_tokens: usage.total_tokens,
  };
}

/** Why a chat completion stopped, as the response's status and incomplete_details. */
export function outcomeOf(
  finishReason: string | null,
): Pick<ResponseObject, 'status' | 'incomplete_details'> {
  if (finishReason === 'length') {
    return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  }
  if (finishReason === 'content_filter') {
    return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  }
  return { status: 'completed', incomplete_details: null };
}

/** The finished response: the shell with the outcome, output items and usage filled in. */
export function finishedResponse(options: {
  context: ResponseContext;
  model: string;
  finishReason: string | null;
  output: ResponseOutputItem[];
  usage: CompletionUsage | null | undefined;
  serviceTier: string | null | undefined;
  completedAt: number;
}): ResponseObject {
  const { context, model, finishReason, output, usage, serviceTier } = options;
  const outcome = outcomeOf(finishReason);
  return {
    ...responseShell(context, outcome.status ?? 'completed'),
    ...outcome,
    completed_at: outcome.status === 'completed' ? options.completedAt : null,
    model,
    output,
    ...(serviceTier ? { service_tier: serviceTier as ResponseObject['service_tier'] } : {}),
    usage: usage ? responseUsageOf(usage) : null,
  };
}
