import type { ResponseItem } from 'openai/resources/responses/responses';
import { GatewayError } from '../errors.js';

/** OpenAI's 400 for a `function_call_output` whose `call_id` answers no function call. */
export function noToolCallFor(callId: string): GatewayError {
  return GatewayError.invalidRequest(
    `No tool call found for function call output with call_id ${callId}.`,
    'input',
  );
}

/** OpenAI's 400 for a conversation that goes on past a function call nothing answered. */
export function noToolOutputFor(callId: string): GatewayError {
  return GatewayError.invalidRequest(`No tool output found for function call ${callId}.`, 'input');
}

/**
 * Refuses a request whose conversation (the `previous_response_id` chain or the conversation it
 * continues, `earlier`, then its input, references resolved) does not pair every function call
 * with its output: an output answering no call, or a call left unanswered. OpenAI refuses both
 * so; a chat upstream would get a tool message answering nothing, or an assistant turn's
 * `tool_calls` without their tool messages, which chat completions refuse in their own words. An
 * item deleted from a conversation can leave either behind in it.
 */
export function refuseUnpairedToolItems(
  items: readonly ResponseItem[],
  earlier: readonly ResponseItem[],
): void {
  const conversation = [...earlier, ...items];
  const calls = new Set<string>();
  const answered = new Set<string>();
  for (const item of conversation) {
    if (item.type === 'function_call') calls.add(item.call_id);
    if (item.type === 'function_call_output') answered.add(item.call_id);
  }
  for (const item of conversation) {
    if (item.type === 'function_call_output' && !calls.has(item.call_id)) {
      throw noToolCallFor(item.call_id);
    }
  }
  for (const item of conversation) {
    if (item.type === 'function_call' && !answered.has(item.call_id)) {
      throw noToolOutputFor(item.call_id);
    }
  }
}
