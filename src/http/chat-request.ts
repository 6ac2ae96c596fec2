import { isRecord } from '../runtime/is-record.js';
import { MAX_MODEL_CHARS } from '../storage/schema.js';
import { GatewayError } from './errors.js';
import {
  type Bounds,
  checkBounds,
  checkStreamOptions,
  checkUser,
  MAX_COMPLETION_TOKENS,
  metadataOf,
  SAMPLING_BOUNDS,
} from './field-bounds.js';
import { jsonObject } from './json-body.js';
import { describeValue } from './responses/request-errors.js';

/** The OpenAI endpoints the gateway serves through its pipeline. */
export type Endpoint = 'chat.completions' | 'responses' | 'embeddings';

/** A parsed chat request: the client's body as sent, plus the fields the gateway reads. */
export interface ChatRequest {
  /** The body exactly as the client sent it (unknown fields included). */
  body: Record<string, unknown>;
  /** What the client sent when its endpoint was translated to chat completions (Responses API). */
  clientBody?: Record<string, unknown>;
  /** Which endpoint the request came to. */
  endpoint: Endpoint;
  /** Tokens to reserve against TPM, when the endpoint counts them itself (embeddings). */
  reserveTokens?: number;
  /** The client's bytes, while nothing has changed the body (sent upstream as they are). */
  rawBody: string | null;
  model: string;
  messages: readonly Record<string, unknown>[];
  stream: boolean;
  /** The client asked for the usage chunk (stream_options.include_usage). */
  includeUsage: boolean;
  user: string | null;
  /** Completion token cap the client set (max_completion_tokens or max_tokens), if any. */
  maxTokens: number | null;
  n: number;
}

function optionalType(
  body: Record<string, unknown>,
  field: string,
  check: (v: unknown) => boolean,
  expected: string,
): void {
  const v = body[field];
  if (v !== undefined && v !== null && !check(v)) {
    throw GatewayError.invalidRequest(
      `Invalid type for '${field}': expected ${expected}, but got ${describeValue(v)}.`,
      field,
      'invalid_type',
    );
  }
}

/** Most choices one request may ask for (OpenAI's own limit). */
export const MAX_CHOICES = 128;
const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

/** Number fields checked for their JSON type; null counts as absent. */
const NUMBER_TYPES: readonly [string, (v: unknown) => boolean, string][] = [
  ['n', Number.isInteger, 'an integer'],
  ['max_tokens', Number.isInteger, 'an integer'],
  ['max_completion_tokens', Number.isInteger, 'an integer'],
  ['temperature', isNumber, 'a number'],
  ['top_p', isNumber, 'a number'],
  ['presence_penalty', isNumber, 'a number'],
  ['frequency_penalty', isNumber, 'a number'],
  ['top_logprobs', Number.isInteger, 'an integer'],
  ['seed', Number.isInteger, 'an integer'],
];

/** OpenAI's ranges, refused here rather than spent on an upstream call (or answered from cache). */
const CHAT_BOUNDS: readonly [string, Bounds][] = [
  ['n', { min: 1, max: MAX_CHOICES }],
  ['max_tokens', { min: 1, max: MAX_COMPLETION_TOKENS }],
  ['max_completion_tokens', { min: 1, max: MAX_COMPLETION_TOKENS }],
  ...SAMPLING_BOUNDS,
  ['presence_penalty', { min: -2, max: 2, kind: 'decimal' }],
  ['frequency_penalty', { min: -2, max: 2, kind: 'decimal' }],
];

/**
 * Validates what the gateway itself relies on and leaves everything else to the provider, so a
 * new OpenAI field passes through without a gateway release. Errors name the offending `param`.
 * `json` is `text` parsed (by `parseJsonBody`); the text is kept as the client's bytes.
 */
export function parseChatRequest(text: string, json: unknown): ChatRequest {
  const body = jsonObject(json);
  if (body.model === undefined) {
    throw GatewayError.invalidRequest(
      "Missing required parameter: 'model'.",
      'model',
      'missing_required_parameter',
    );
  }
  if (typeof body.model !== 'string' || body.model.trim() === '') {
    throw GatewayError.invalidRequest(
      `Invalid type for 'model': expected a non-empty string, but got ${describeValue(body.model)}.`,
      'model',
      'invalid_type',
    );
  }
  if (body.model.length > MAX_MODEL_CHARS) {
    throw GatewayError.invalidRequest(
      `Invalid 'model': string too long. Expected a string with maximum length ${MAX_MODEL_CHARS}, but got a string with length ${body.model.length} instead.`,
      'model',
      'string_above_max_length',
    );
  }
  if (body.messages === undefined) {
    throw GatewayError.invalidRequest(
      "Missing required parameter: 'messages'.",
      'messages',
      'missing_required_parameter',
    );
  }
  if (!Array.isArray(body.messages)) {
    throw GatewayError.invalidRequest(
      `Invalid type for 'messages': expected an array, but got ${describeValue(body.messages)}.`,
      'messages',
      'invalid_type',
    );
  }
  if (body.messages.length === 0) {
    throw GatewayError.invalidRequest(
      "Invalid 'messages': empty array. Expected an array with minimum length 1.",
      'messages',
      'empty_array',
    );
  }
  body.messages.forEach((m: unknown, i: number) => {
    if (!isRecord(m)) {
      throw GatewayError.invalidRequest(
        `Invalid type for 'messages[${i}]': expected an object.`,
        `messages[${i}]`,
        'invalid_type',
      );
    }
    if (m.role === undefined) {
      throw GatewayError.invalidRequest(
        `Missing required parameter: 'messages[${i}].role'.`,
        `messages[${i}].role`,
        'missing_required_parameter',
      );
    }
    if (typeof m.role !== 'string') {
      throw GatewayError.invalidRequest(
        `Invalid type for 'messages[${i}].role': expected a string, but got ${describeValue(m.role)}.`,
        `messages[${i}].role`,
        'invalid_type',
      );
    }
    const c = m.content;
    if (c !== undefined && c !== null && typeof c !== 'string' && !Array.isArray(c)) {
      throw GatewayError.invalidRequest(
        `Invalid type for 'messages[${i}].content': expected a string or an array, but got ${describeValue(c)}.`,
        `messages[${i}].content`,
        'invalid_type',
      );
    }
  });
  optionalType(body, 'stream', (v) => typeof v === 'boolean', 'a boolean');
  optionalType(body, 'stream_options', isRecord, 'an object');
  optionalType(body, 'user', (v) => typeof v === 'string', 'a string');
  for (const [field, check, expected] of NUMBER_TYPES) optionalType(body, field, check, expected);
  optionalType(body, 'logprobs', (v) => typeof v === 'boolean', 'a boolean');
  for (const [field, bounds] of CHAT_BOUNDS) checkBounds(body, field, bounds);
  checkUser(body);
  checkStreamOptions(body);
  metadataOf(body.metadata);
  const streamOptions = isRecord(body.stream_options) ? body.stream_options : null;
  const maxTokens = (body.max_completion_tokens ?? body.max_tokens ?? null) as number | null;
  return {
    body,
    endpoint: 'chat.completions',
    rawBody: text,
    model: body.model,
    messages: body.messages as Record<string, unknown>[],
    stream: body.stream === true,
    includeUsage: streamOptions?.include_usage === true,
    user: typeof body.user === 'string' ? body.user : null,
    maxTokens,
    n: typeof body.n === 'number' ? body.n : 1,
  };
}
