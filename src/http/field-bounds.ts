import { isRecord } from '../runtime/is-record.js';
import { GatewayError } from './errors.js';
import { invalidType } from './responses/request-errors.js';

/** Largest completion token cap accepted: more than any model answers. */
export const MAX_COMPLETION_TOKENS = 2 ** 31 - 1;
/** Longest end-user id kept (it is stored as plaintext metadata). */
export const MAX_USER_CHARS = 256;
/** OpenAI's metadata limits: 16 pairs, keys up to 64 characters, values up to 512. */
const MAX_METADATA_KEYS = 16;
const MAX_METADATA_KEY_CHARS = 64;
const MAX_METADATA_VALUE_CHARS = 512;

/** A number field's accepted range, and whether OpenAI words it as an integer or a decimal. */
export interface Bounds {
  readonly min?: number;
  readonly max?: number;
  readonly kind?: 'integer' | 'decimal';
}

/**
 * Refuses a number field outside `bounds` (a value out of range, not a wrong type), in OpenAI's
 * words: "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3
 * instead." (code `decimal_above_max_value`; `integer_below_min_value` and the like).
 */
export function checkBounds(body: Record<string, unknown>, field: string, bounds: Bounds): void {
  const v = body[field];
  if (typeof v !== 'number') return;
  const kind = bounds.kind ?? 'integer';
  if (bounds.min !== undefined && v < bounds.min) {
    throw GatewayError.invalidRequest(
      `Invalid '${field}': ${kind} below minimum value. Expected a value >= ${bounds.min}, but got ${v} instead.`,
      field,
      `${kind}_below_min_value`,
    );
  }
  if (bounds.max !== undefined && v > bounds.max) {
    throw GatewayError.invalidRequest(
      `Invalid '${field}': ${kind} above maximum value. Expected a value <= ${bounds.max}, but got ${v} instead.`,
      field,
      `${kind}_above_max_value`,
    );
  }
}

/** OpenAI's ranges for the sampling fields chat completions and the Responses API share. */
export const SAMPLING_BOUNDS: readonly [string, Bounds][] = [
  ['temperature', { min: 0, max: 2, kind: 'decimal' }],
  ['top_p', { min: 0, max: 1, kind: 'decimal' }],
  ['top_logprobs', { min: 0, max: 20 }],
];

/** Refuses a `user` (end-user id) longer than the gateway keeps. */
export function checkUser(body: Record<string, unknown>): void {
  const user = body.user;
  if (typeof user === 'string' && user.length > MAX_USER_CHARS) {
    throw GatewayError.invalidRequest(
      `Invalid 'user': string too long. Expected a string with maximum length ${MAX_USER_CHARS}, but got a string with length ${user.length} instead.`,
      'user',
      'string_above_max_length',
    );
  }
}

/**
 * Refuses `stream_options` on a request that does not stream, as OpenAI does (400, code null):
 * the options would otherwise be dropped, or sent to an upstream that refuses them.
 */
export function checkStreamOptions(body: Record<string, unknown>): void {
  if (body.stream !== true && body.stream_options !== undefined && body.stream_options !== null) {
    throw GatewayError.invalidRequest(
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      'stream_options',
    );
  }
}

function tooLong(param: string, max: number, what: string): GatewayError {
  return GatewayError.invalidRequest(
    `Invalid '${param}': ${what} longer than ${max}.`,
    param,
    'invalid_value',
  );
}

/**
 * Validates `metadata` as chat completions, the Responses API and conversations take it: up to 16
 * string pairs (keys ≤ 64 characters, values ≤ 512); absent or null is none.
 */
export function metadataOf(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw invalidType('metadata', 'an object', value);
  const entries = Object.entries(value);
  if (entries.length > MAX_METADATA_KEYS) {
    throw GatewayError.invalidRequest(
      `Invalid 'metadata': ${entries.length} keys; at most ${MAX_METADATA_KEYS} are allowed.`,
      'metadata',
      'invalid_value',
    );
  }
  for (const [key, v] of entries) {
    if (typeof v !== 'string') throw invalidType(`metadata.${key}`, 'a string', v);
    if (key.length > MAX_METADATA_KEY_CHARS) {
      throw tooLong('metadata', MAX_METADATA_KEY_CHARS, 'a key is');
    }
    if (v.length > MAX_METADATA_VALUE_CHARS) {
      throw tooLong(`metadata.${key}`, MAX_METADATA_VALUE_CHARS, 'the value is');
    }
  }
  return value as Record<string, string>;
}
