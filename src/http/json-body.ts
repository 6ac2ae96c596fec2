import { GatewayError } from './errors.js';

/** Parses a request body as JSON, or answers 400 `invalid_json` in OpenAI's shape. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw GatewayError.invalidRequest(
      'We could not parse the JSON body of your request. The body must be valid JSON.',
      null,
      'invalid_json',
    );
  }
}
