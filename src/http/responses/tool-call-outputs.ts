import type { ResponseItem } from 'openai/resources/responses/responses';
import { GatewayError } from '../errors.js';

/** OpenAI's 400 for a `function_call_output` whose `call_id` answers no function call. */
export function noToolCallFor(callId: string): GatewayError {
  return GatewayError.invalidRequest(
    `No tool call found for function call output with call_id ${callId}.`,
    'input',
  );
}

/**
 * Refuses a request whose input answers a function call that is nowhere: not in the input itself
 * (references resolved), nor in the conversation or `previous_response_id` chain it continues
 * (`earlier`). OpenAI refuses it so; an upstream would get a tool message answering nothing.
 */
export function refuseUnansweredOutputs(
  items: readonly ResponseItem[],
  earlier: readonly ResponseItem[],
): void {
  const calls = new Set<string>();
  for (const item of [...earlier, ...items]) {
    if (item.type === 'function_call') calls.add(item.call_id);
  }
  for (const item of items) {
    if (item.type === 'function_call_output' && !calls.has(item.call_id)) {
      throw noToolCallFor(item.call_id);
    }
  }
}
