import type { ChatCompletion, ChatCompletionTokenLogprob } from 'openai/resources/chat/completions';
import type {
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseOutputText,
} from 'openai/resources/responses/responses';
import { newItemId } from './item-ids.js';
import type { ResponseContext, ResponseObject } from './response-shell.js';
import { finishedResponse } from './response-shell.js';

/** Chat-completions token logprobs in the shape of an `output_text` part's `logprobs`. */
export function outputLogprobsOf(
  logprobs: readonly ChatCompletionTokenLogprob[] | null | undefined,
): ResponseOutputText.Logprob[] {
  return (logprobs ?? []).map((lp) => ({
    token: lp.token,
    bytes: lp.bytes ?? [],
    logprob: lp.logprob,
    top_logprobs: lp.top_logprobs.map((top) => ({
      token: top.token,
      bytes: top.bytes ?? [],
      logprob: top.logprob,
    })),
  }));
}

function messageItem(
  choice: ChatCompletion.Choice,
  status: ResponseOutputMessage['status'],
): ResponseOutputMessage | null {
  const { content, refusal } = choice.message;
  const parts: ResponseOutputMessage['content'] = [];
  if (typeof content === 'string') {
    parts.push({
      type: 'output_text',
      annotations: [],
      logprobs: outputLogprobsOf(choice.logprobs?.content),
      text: content,
    });
  }
  if (typeof refusal === 'string') parts.push({ type: 'refusal', refusal });
  if (parts.length === 0) return null;
  return { id: newItemId('msg'), type: 'message', status, content: parts, role: 'assistant' };
}

/** The output items of a completion's first choice: its message, then its function calls. */
export function outputItemsOfCompletion(completion: ChatCompletion): ResponseOutputItem[] {
  const choice = completion.choices[0];
  if (choice === undefined) return [];
  const items: ResponseOutputItem[] = [];
  const message = messageItem(
    choice,
    choice.finish_reason === 'length' || choice.finish_reason === 'content_filter'
      ? 'incomplete'
      : 'completed',
  );
  if (message !== null) items.push(message);
  for (const call of choice.message.tool_calls ?? []) {
    if (call.type !== 'function') continue;
    items.push({
      id: newItemId('fc'),
      type: 'function_call',
      status: 'completed',
      arguments: call.function.arguments,
      call_id: call.id,
      name: call.function.name,
    });
  }
  return items;
}

/**
 * The Responses API's answer for a chat completion: OpenAI's `response` object with the
 * completion's first choice as output items, its usage renamed, and the request's settings echoed.
 * `completedAt` (Unix seconds) defaults to the completion's own creation time.
 */
export function toResponseObject(
  completion: ChatCompletion,
  context: ResponseContext,
  completedAt: number = completion.created,
): ResponseObject {
  return finishedResponse({
    context,
    model: completion.model,
    finishReason: completion.choices[0]?.finish_reason ?? null,
    output: outputItemsOfCompletion(completion),
    usage: completion.usage,
    serviceTier: completion.service_tier,
    completedAt,
  });
}
