import type { ChatCompletion } from 'openai/resources/chat/completions';
import {
  countRequestTokens,
  countTokensWithEncoding,
  encodingForModel,
  type TokenEncoding,
} from '../compression/token-count.js';
import { isRecord } from '../runtime/is-record.js';

/** Token usage in the shape a provider reports it. */
export interface EstimatedUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/**
 * The gateway's own count of what an answer without the provider's usage spent: the prompt as it
 * was sent upstream (counted as the TPM reservation counts it) and the text, refusals and tool
 * calls generated before the answer ended. An estimate, never the provider's figure: reasoning
 * tokens the stream never showed are not in it. Runs after the response, off the hot path.
 */
export function estimatedUsage(
  body: Readonly<Record<string, unknown>>,
  completion: ChatCompletion,
  model: string,
): EstimatedUsage {
  const prompt = countRequestTokens(body, model);
  const encoding = encodingForModel(model);
  let generated = 0;
  for (const choice of completion.choices) {
    const message: unknown = choice.message;
    if (!isRecord(message)) continue;
    generated += textTokens(message.content, encoding) + textTokens(message.refusal, encoding);
    if (Array.isArray(message.tool_calls)) {
      for (const call of message.tool_calls) generated += functionTokens(call, encoding);
    }
  }
  return { prompt_tokens: prompt, completion_tokens: generated, total_tokens: prompt + generated };
}

function textTokens(value: unknown, encoding: TokenEncoding): number {
  return typeof value === 'string' && value !== '' ? countTokensWithEncoding(value, encoding) : 0;
}

/** A tool call's generated part: its function's name and arguments. */
function functionTokens(call: unknown, encoding: TokenEncoding): number {
  const fn = isRecord(call) ? call.function : undefined;
  if (!isRecord(fn)) return 0;
  return textTokens(fn.name, encoding) + textTokens(fn.arguments, encoding);
}
