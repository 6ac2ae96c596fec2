import { isRecord } from '../runtime/is-record.js';
import { GatewayError } from './errors.js';
import { jsonObject, parseJsonBody } from './json-body.js';

/**
 * An admin request's body as a JSON object, or a 400 in OpenAI's shape. Its fields are judged by
 * the service's own schema (keys/key-settings.ts, tenants/tenant-admin.ts), as the CLI's flags are.
 */
export function adminJsonBody(text: string): Record<string, unknown> {
  const json = jsonObject(parseJsonBody(text));
  for (const [field, value] of Object.entries(json)) {
    if (holdsNul(value)) {
      throw GatewayError.invalidRequest(
        `'${field}' holds a NUL character, which cannot be stored.`,
        field,
        'invalid_value',
      );
    }
  }
  return json;
}

/** True when a JSON value holds a NUL character in any string, key or nested value. */
function holdsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(holdsNul);
  if (isRecord(value)) {
    return Object.entries(value).some(([key, inner]) => key.includes('\u0000') || holdsNul(inner));
  }
  return false;
}
