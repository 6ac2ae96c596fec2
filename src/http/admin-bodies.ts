import { isRecord } from '../runtime/is-record.js';
import { GatewayError } from './errors.js';
import { parseJsonBody } from './json-body.js';

/**
 * An admin request's body as a JSON object, or a 400 in OpenAI's shape. Its fields are judged by
 * the service's own schema (keys/key-settings.ts, tenants/tenant-admin.ts), as the CLI's flags are.
 */
export function adminJsonBody(text: string): Record<string, unknown> {
  const json = parseJsonBody(text);
  if (!isRecord(json)) {
    throw GatewayError.invalidRequest(
      'The request body must be a JSON object.',
      null,
      'invalid_type',
    );
  }
  return json;
}
