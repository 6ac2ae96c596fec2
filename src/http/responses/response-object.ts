import type { ChatCompletion, ChatCompletionTokenLogprob } from 'openai/resources/chat/completions';
import type {
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseOutputText,
} from 'openai/resources/responses/responses';
import { newItemId } from './item-ids.js';
import { reasoningItem, reasoningTextOf, wantsReasoningSummary } from './reasoning-items.js';
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

/**
 * The message of a choice: its text and refusal, when not empty. A choice that only calls
 * functions (or only reasoned) has none; one with nothing at all to show has an empty
 * one. The stream translator answers the same, so a JSON answer and a streamed one agree.
 */
function messageItem(
  choice: ChatCompletion.Choice,
  status: ResponseOutputMessage['status'],
  reasoned: boolean,
): ResponseOutputMessage | null {
  const { content, refusal, tool_calls: calls } = choice.message;
  const textPart = (text: string): ResponseOutputText => ({
    type: 'output_text',
    annotations: [],
    logprobs: outputLogprobsOf(choice.logprobs?.content),
    text,
  });
  const parts: ResponseOutputMessage['content'] = [];
  if (typeof content === 'string' && content !== '') parts.push(textPart(content));
  if (typeof refusal === 'string' && refusal !== '') parts.push({ type: 'refusal', refusal });
  if (parts.length === 0) {
    if (reasoned || (calls ?? []).some((call) => call.type === 'function')) return null;
    parts.push(textPart(''));
  }
  return { id: newItemId('msg'), type: 'message', status, content: parts, role: 'assistant' };
}

/**
 * The output items of a completion's first choice: its reasoning when `summaries` are asked for
 * (see reasoning-items.ts), its message, then its function calls.
 */
export function outputItemsOfCompletion(
  completion: ChatCompletion,
  summaries: boolean,
): ResponseOutputItem[] {
  const choice = completion.choices[0];
  if (choice === undefined) return [];
  const items: ResponseOutputItem[] = [];
  const reasoning = summaries ? reasoningTextOf(choice.message) : '';
  if (reasoning !== '') items.push(reasoningItem(newItemId('rs'), reasoning));
  const message = messageItem(
    choice,
    choice.finish_reason === 'length' || choice.finish_reason === 'content_filter'
      ? 'incomplete'
      : 'completed',
    reasoning !== '',
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
    output: outputItemsOfCompletion(completion, wantsReasoningSummary(context.request)),
    usage: completion.usage,
    serviceTier: completion.service_tier,
    completedAt,
  });
}
