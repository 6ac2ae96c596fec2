import { GatewayError } from './errors.js';

/** OpenAI's 404 for a stored object that does not exist (or is another tenant's). */
export function storedNotFound(
  what: 'Response' | 'Conversation' | 'Item',
  id: string,
  param: string | null = null,
): GatewayError {
  return new GatewayError({
    status: 404,
    message: `${what} with id '${id}' not found.`,
    type: 'invalid_request_error',
    param,
    code: 'not_found',
  });
}
