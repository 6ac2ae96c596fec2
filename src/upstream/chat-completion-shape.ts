import type { ChatCompletion } from 'openai/resources/chat/completions';
import { isRecord } from '../runtime/is-record.js';

/**
 * True when an upstream's parsed 200 body is a chat completion as far as the gateway reads one:
 * an object whose `choices` is an array of objects, each with a `message` object. Any other body
 * (`[]`, a string, `{"choices":[null]}`) is not an answer to relay, replay or record as one.
 */
export function isChatCompletion(value: unknown): value is ChatCompletion {
  if (!isRecord(value)) return false;
  const { choices } = value;
  if (!Array.isArray(choices)) return false;
  for (const choice of choices) {
    if (!isRecord(choice) || !isRecord(choice.message)) return false;
  }
  return true;
}
