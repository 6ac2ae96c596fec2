import { MAX_MODEL_CHARS } from '../storage/schema.js';
import { GatewayError } from './errors.js';
import { jsonObject } from './json-body.js';

/** Most inputs one embeddings request may carry (OpenAI's own limit). */
export const MAX_EMBEDDING_INPUTS = 2048;

/** A validated embeddings request: the body as sent, and what the gateway reads of it. */
export interface EmbeddingsRequestBody {
  body: Record<string, unknown>;
  model: string;
  /** The texts to embed (token-array inputs are counted, not decoded). */
  texts: string[];
  /** Tokens given directly as token arrays. */
  tokenInputs: number;
  user: string | null;
}

const invalid = (message: string, param: string, code = 'invalid_value') =>
  GatewayError.invalidRequest(message, param, code);

function isTokenArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((t) => Number.isInteger(t) && t >= 0);
}

/** Optional fields a client may send as null, meaning absent. */
const NULLABLE_FIELDS = ['encoding_format', 'dimensions', 'user'] as const;

/**
 * The body without the optional fields sent as null: OpenAI reads null as absent (LiteLLM sends
 * `encoding_format: null` whenever its caller names no format), while several OpenAI-compatible
 * servers refuse a null there, so none is sent on (nor kept apart from its absence in the cache).
 */
function withoutNulls(json: Record<string, unknown>): Record<string, unknown> {
  if (!NULLABLE_FIELDS.some((field) => json[field] === null)) return json;
  const body = { ...json };
  for (const field of NULLABLE_FIELDS) if (body[field] === null) delete body[field];
  return body;
}

/**
 * Validates an embeddings body: `input` as a string, an array of strings, a token array or an
 * array of token arrays; `model`; `encoding_format` float or base64; `dimensions` a positive
 * integer (either, and `user`, null when absent). Everything else passes through to the provider.
 */
export function parseEmbeddingsRequest(body: unknown): EmbeddingsRequestBody {
  const json = withoutNulls(jsonObject(body));
  const { model, input } = json;
  if (typeof model !== 'string' || model.trim() === '') {
    throw invalid("'model' must be a non-empty string.", 'model', 'missing_required_parameter');
  }
  if (model.length > MAX_MODEL_CHARS) {
    throw invalid(
      `'model' is longer than ${MAX_MODEL_CHARS} characters.`,
      'model',
      'string_above_max_length',
    );
  }
  const texts: string[] = [];
  let tokenInputs = 0;
  if (typeof input === 'string') texts.push(input);
  else if (isTokenArray(input) && input.length > 0) tokenInputs += input.length;
  else if (Array.isArray(input) && input.length > 0 && input.length <= MAX_EMBEDDING_INPUTS) {
    input.forEach((item: unknown, i: number) => {
      if (typeof item === 'string') texts.push(item);
      else if (isTokenArray(item) && item.length > 0) tokenInputs += item.length;
      else {
        throw invalid(`'input[${i}]' must be a string or an array of token ids.`, `input[${i}]`);
      }
    });
    if (texts.length > 0 && tokenInputs > 0) {
      // OpenAI takes strings or token arrays, not both in one list; a provider given both may
      // embed the token ids as text, and the cache would key one kind as the other.
      throw invalid("'input' must be all strings or all token arrays, not a mix of both.", 'input');
    }
  } else {
    throw invalid(
      `'input' must be a string, an array of 1 to ${MAX_EMBEDDING_INPUTS} strings, or token arrays.`,
      'input',
      input === undefined ? 'missing_required_parameter' : 'invalid_value',
    );
  }
  if (texts.some((t) => t === ''))
    throw invalid("'input' must not contain empty strings.", 'input');
  const format = json.encoding_format;
  if (format !== undefined && format !== 'float' && format !== 'base64') {
    throw invalid("'encoding_format' must be 'float' or 'base64'.", 'encoding_format');
  }
  const dimensions = json.dimensions;
  if (dimensions !== undefined && !(Number.isInteger(dimensions) && (dimensions as number) > 0)) {
    throw invalid("'dimensions' must be a positive integer.", 'dimensions');
  }
  const user = typeof json.user === 'string' ? json.user.slice(0, 256) : null;
  return { body: json, model, texts, tokenInputs, user };
}
