import { isRecord } from '../runtime/is-record.js';
import { GatewayError } from './errors.js';
import { findJsonShapeProblem, MAX_JSON_DEPTH } from './json-shape.js';

// Fatal: a byte that is not UTF-8 refuses the body instead of becoming U+FFFD. A leading byte
// order mark is kept, as Buffer#toString keeps it (JSON.parse then refuses it).
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes a JSON request body, or answers 400 `invalid_json` in OpenAI's shape when it is not
 * valid UTF-8, the only encoding JSON may travel in (RFC 8259). Replacing the bad bytes with
 * U+FFFD would send upstream (and key the cache on) text the client never sent, and two
 * different bodies would read the same.
 */
export function decodeJsonBody(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw GatewayError.invalidRequest(
      'The request body is not valid UTF-8. JSON bodies must be encoded in UTF-8.',
      null,
      'invalid_json',
    );
  }
}

/**
 * Parses a request body as JSON, or answers 400 in OpenAI's shape: `invalid_json` for a body that
 * does not parse, or nests deeper than MAX_JSON_DEPTH, and `duplicate_parameter` for a top-level
 * key given twice (the gateway would check one value and forward both).
 */
export function parseJsonBody(text: string): unknown {
  const problem = findJsonShapeProblem(text);
  if (problem?.kind === 'too-deep') {
    throw GatewayError.invalidRequest(
      `The JSON body of your request nests deeper than ${MAX_JSON_DEPTH} levels.`,
      null,
      'invalid_json',
    );
  }
  if (problem?.kind === 'duplicate-key') {
    const key = problem.key ?? '';
    throw GatewayError.invalidRequest(
      `The request body gives '${key}' more than once.`,
      key,
      'duplicate_parameter',
    );
  }
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

/** A parsed body as the JSON object every endpoint takes, or a 400 `invalid_type` in OpenAI's shape. */
export function jsonObject(json: unknown): Record<string, unknown> {
  if (isRecord(json)) return json;
  throw GatewayError.invalidRequest(
    'The request body must be a JSON object.',
    null,
    'invalid_type',
  );
}
