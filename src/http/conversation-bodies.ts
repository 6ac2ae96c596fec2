import { GatewayError } from './errors.js';
import { metadataOf } from './field-bounds.js';
import { jsonObject } from './json-body.js';
import { checkItems } from './responses/input-validation.js';
import { invalidType } from './responses/request-errors.js';
import { rejectUnknownParameters } from './responses/unsupported-parameters.js';

/** Most items one request adds to a conversation, as at OpenAI. */
const MAX_ITEMS_PER_REQUEST = 20;

/** A conversation's `items`; where they are `required` (an add), at least one, as at OpenAI. */
function itemsOf(value: unknown, required: boolean): unknown[] {
  if (value === undefined || value === null) {
    if (!required) return [];
    throw GatewayError.invalidRequest(
      "Missing required parameter: 'items'.",
      'items',
      'missing_required_parameter',
    );
  }
  if (!Array.isArray(value)) throw invalidType('items', 'an array', value);
  if (required && value.length === 0) {
    throw GatewayError.invalidRequest(
      "Invalid 'items': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      'items',
      'empty_array',
    );
  }
  if (value.length > MAX_ITEMS_PER_REQUEST) {
    throw GatewayError.invalidRequest(
      `Invalid 'items': array too long. Expected an array with maximum length ${MAX_ITEMS_PER_REQUEST}, but got an array with length ${value.length} instead.`,
      'items',
      'array_above_max_length',
    );
  }
  checkItems(value, 'items');
  return value;
}

/** The body fields of each Conversations request (openai-node 6's params, query fields apart). */
const CREATE_PARAMETERS: ReadonlySet<string> = new Set(['items', 'metadata']);
const UPDATE_PARAMETERS: ReadonlySet<string> = new Set(['metadata']);
const ITEMS_ADD_PARAMETERS: ReadonlySet<string> = new Set(['items']);

/** `POST /v1/conversations`: optional first `items` and `metadata`. */
export function parseConversationCreate(json: unknown): {
  items: unknown[];
  metadata: Record<string, string>;
} {
  const body = jsonObject(json);
  rejectUnknownParameters(body, CREATE_PARAMETERS);
  return { items: itemsOf(body.items, false), metadata: metadataOf(body.metadata) };
}

/** `POST /v1/conversations/{id}`: the new `metadata` (required; null clears it). */
export function parseConversationUpdate(json: unknown): Record<string, string> {
  const body = jsonObject(json);
  rejectUnknownParameters(body, UPDATE_PARAMETERS);
  if (!('metadata' in body)) {
    throw GatewayError.invalidRequest(
      "Missing required parameter: 'metadata'.",
      'metadata',
      'missing_required_parameter',
    );
  }
  return metadataOf(body.metadata);
}

/** `POST /v1/conversations/{id}/items`: the `items` to append (1 to 20). */
export function parseItemsAdd(json: unknown): unknown[] {
  const body = jsonObject(json);
  rejectUnknownParameters(body, ITEMS_ADD_PARAMETERS);
  return itemsOf(body.items, true);
}
