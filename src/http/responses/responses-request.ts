import type { ResponseCreateParamsBase } from 'openai/resources/responses/responses';
import { isRecord } from '../../runtime/is-record.js';
import { MAX_MODEL_CHARS } from '../../storage/schema.js';
import { GatewayError } from '../errors.js';
import {
  checkBounds,
  checkStreamOptions,
  checkUser,
  MAX_COMPLETION_TOKENS,
  metadataOf,
  SAMPLING_BOUNDS,
} from '../field-bounds.js';
import { jsonObject } from '../json-body.js';
import { checkInput } from './input-validation.js';
import { refuseNulId } from './item-ids.js';
import { describeValue, invalidType } from './request-errors.js';
import { rejectUnsupported } from './unsupported-parameters.js';

/** A validated Responses API request: the client's body, typed, plus the fields the gateway reads. */
export interface ResponsesRequest {
  /** The body as the client sent it (unknown fields included), typed after validation. */
  params: ResponseCreateParamsBase;
  model: string;
  stream: boolean;
  /** Whether the response is kept for `previous_response_id` and retrieval (OpenAI's default: yes). */
  store: boolean;
  previousResponseId: string | null;
  /** The conversation the response joins (`conversation` as an id or `{ id }`). */
  conversationId: string | null;
  user: string | null;
  maxOutputTokens: number | null;
}

const isInteger = (v: unknown) => Number.isInteger(v);
const isNonNegativeInt = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const isString = (v: unknown) => typeof v === 'string';
const isBoolean = (v: unknown) => typeof v === 'boolean';

/** Fields checked for their JSON type; null counts as absent, as OpenAI treats it. */
const FIELD_TYPES: readonly [string, (v: unknown) => boolean, string][] = [
  ['instructions', isString, 'a string'],
  ['stream', isBoolean, 'a boolean'],
  ['store', isBoolean, 'a boolean'],
  ['background', isBoolean, 'a boolean'],
  ['parallel_tool_calls', isBoolean, 'a boolean'],
  ['temperature', isNumber, 'a number'],
  ['top_p', isNumber, 'a number'],
  ['max_output_tokens', isInteger, 'an integer'],
  ['top_logprobs', isInteger, 'an integer'],
  ['max_tool_calls', isNonNegativeInt, 'a non-negative integer'],
  ['user', isString, 'a string'],
  ['safety_identifier', isString, 'a string'],
  ['prompt_cache_key', isString, 'a string'],
  ['prompt_cache_options', isRecord, 'an object'],
  ['previous_response_id', isString, 'a string'],
  ['text', isRecord, 'an object'],
  ['reasoning', isRecord, 'an object'],
  ['stream_options', isRecord, 'an object'],
  ['tools', Array.isArray, 'an array'],
  ['include', Array.isArray, 'an array'],
];

/** OpenAI's smallest `max_output_tokens`. */
const MIN_OUTPUT_TOKENS = 16;

/** Fields that take one of a few strings (openai-node 6's `ResponseCreateParams`). */
const FIELD_VALUES: readonly [string, readonly string[]][] = [
  ['truncation', ['auto', 'disabled']],
  ['service_tier', ['auto', 'default', 'flex', 'scale', 'priority']],
];

/** "'a', 'b' and 'c'", as OpenAI lists the values a field takes. */
function listed(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`);
  return quoted.length < 2
    ? quoted.join('')
    : `${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)}`;
}

function checkFieldValues(json: Record<string, unknown>): void {
  for (const [field, values] of FIELD_VALUES) {
    const value = json[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw invalidType(field, 'a string', value);
    if (!values.includes(value)) {
      throw GatewayError.invalidRequest(
        `Invalid value for '${field}': '${value}'. Supported values are: ${listed(values)}.`,
        field,
        'invalid_value',
      );
    }
  }
}

function checkModel(model: unknown): string {
  if (model === undefined) {
    throw GatewayError.invalidRequest(
      "Missing required parameter: 'model'.",
      'model',
      'missing_required_parameter',
    );
  }
  if (typeof model !== 'string' || model.trim() === '') {
    throw invalidType('model', 'a non-empty string', model);
  }
  if (model.length > MAX_MODEL_CHARS) {
    throw GatewayError.invalidRequest(
      `Invalid 'model': string too long. Expected a string with maximum length ${MAX_MODEL_CHARS}, but got a string with length ${model.length} instead.`,
      'model',
      'string_above_max_length',
    );
  }
  return model;
}

function conversationIdOf(conversation: unknown): string | null {
  if (conversation === undefined || conversation === null) return null;
  if (typeof conversation === 'string' && conversation !== '') return conversation;
  if (isRecord(conversation) && typeof conversation.id === 'string' && conversation.id !== '') {
    return conversation.id;
  }
  throw GatewayError.invalidRequest(
    `Invalid 'conversation': expected a conversation id or an object with an 'id', but got ${describeValue(conversation)}.`,
    'conversation',
    'invalid_type',
  );
}

/**
 * Validates what the gateway relies on to translate a Responses request to chat completions and
 * refuses, with a 400 naming the parameter, what chat completions cannot honour and any parameter
 * OpenAI's create request does not have (`unknown_parameter`, as OpenAI answers).
 */
export function parseResponsesRequest(body: unknown): ResponsesRequest {
  const json = jsonObject(body);
  const model = checkModel(json.model);
  for (const [field, check, expected] of FIELD_TYPES) {
    const value = json[field];
    if (value !== undefined && value !== null && !check(value)) {
      throw invalidType(field, expected, value);
    }
  }
  checkBounds(json, 'max_output_tokens', { min: MIN_OUTPUT_TOKENS, max: MAX_COMPLETION_TOKENS });
  for (const [field, bounds] of SAMPLING_BOUNDS) checkBounds(json, field, bounds);
  checkUser(json);
  checkStreamOptions(json);
  metadataOf(json.metadata);
  checkFieldValues(json);
  const conversationId = conversationIdOf(json.conversation);
  const previousResponseId =
    typeof json.previous_response_id === 'string' ? json.previous_response_id : null;
  if (conversationId !== null) refuseNulId(conversationId, 'conversation');
  if (previousResponseId !== null) refuseNulId(previousResponseId, 'previous_response_id');
  if (conversationId !== null && previousResponseId !== null) {
    throw GatewayError.invalidRequest(
      "Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' or 'conversation'.",
      'conversation',
      'mutually_exclusive_parameters',
    );
  }
  if (json.input === undefined || json.input === null) {
    if (previousResponseId === null && conversationId === null) {
      throw GatewayError.invalidRequest(
        "Missing required parameter: 'input'.",
        'input',
        'missing_required_parameter',
      );
    }
  } else {
    checkInput(json.input);
  }
  rejectUnsupported(json);
  const params = json as unknown as ResponseCreateParamsBase;
  return {
    params,
    model,
    stream: json.stream === true,
    store: json.store !== false,
    previousResponseId,
    conversationId,
    user: typeof json.user === 'string' ? json.user : null,
    maxOutputTokens: typeof json.max_output_tokens === 'number' ? json.max_output_tokens : null,
  };
}
