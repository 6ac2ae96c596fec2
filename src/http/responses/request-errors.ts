import { GatewayError } from '../errors.js';

/** How a JSON value is named in an error message ("a string", "an array", "null"). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  // A JSON number too large for a double (1e400) parses as Infinity.
  if (typeof v === 'number' && !Number.isFinite(v)) return 'a number out of range';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** OpenAI's 400 for a parameter of the wrong JSON type. */
export function invalidType(param: string, expected: string, got: unknown): GatewayError {
  return GatewayError.invalidRequest(
    `Invalid type for '${param}': expected ${expected}, but got ${describeValue(got)}.`,
    param,
    'invalid_type',
  );
}

/** A 400 for a parameter or value the gateway cannot honour over chat completions. */
export function unsupported(param: string, what: string): GatewayError {
  return GatewayError.invalidRequest(
    `${what} is not supported by this gateway: it serves the Responses API over chat completions.`,
    param,
    'unsupported_parameter',
  );
}
