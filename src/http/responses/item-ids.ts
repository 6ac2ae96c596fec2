import { randomBytes } from 'node:crypto';
import { GatewayError } from '../errors.js';

/**
 * The prefixes OpenAI gives its ids: a response, a message, a reasoning item, a function call
 * item, its output, a call.
 */
export type ItemIdPrefix = 'resp' | 'msg' | 'rs' | 'fc' | 'fco' | 'call';

/** A new id in OpenAI's shape (`resp_…`, `msg_…`, `fc_…`): the prefix and 50 random hex digits. */
export function newItemId(prefix: ItemIdPrefix): string {
  return `${prefix}_${randomBytes(25).toString('hex')}`;
}

/**
 * Refuses an id that holds a NUL character, with a 400 naming `param`: no stored response,
 * conversation or item can have one (PostgreSQL text cannot hold NUL), so a lookup with it would
 * fail in the database, and an item stored under it could not be written.
 */
export function refuseNulId(id: string, param: string): void {
  if (!id.includes('\u0000')) return;
  throw GatewayError.invalidRequest(
    `Invalid '${param}': an id cannot hold a NUL character.`,
    param,
    'invalid_value',
  );
}

/**
 * Longest id an item is stored under: far longer than any id OpenAI gives (`msg_` and 50 hex
 * digits), and short enough for the database's indexes on item ids (a btree entry holds at most
 * about 2.7 kB; longer, the insert fails).
 */
export const MAX_ITEM_ID_CHARS = 256;

/**
 * Refuses an item id longer than `MAX_ITEM_ID_CHARS`, with a 400 naming `param`: its item could
 * not be stored (a conversation's add failed with a 500, a response was answered unstored).
 */
export function refuseLongItemId(id: string, param: string): void {
  if (id.length <= MAX_ITEM_ID_CHARS) return;
  throw GatewayError.invalidRequest(
    `Invalid '${param}': string too long. Expected a string with maximum length ${MAX_ITEM_ID_CHARS}, but got a string with length ${id.length} instead.`,
    param,
    'string_above_max_length',
  );
}

/** OpenAI's 400 for an item whose id a request gives twice, or that is stored where it goes already. */
export function duplicateItem(id: string, param: 'input' | 'items'): GatewayError {
  return GatewayError.invalidRequest(
    `Duplicate item found with id ${id}. Remove duplicate items from your input and try again.`,
    param,
  );
}

/**
 * Refuses items, with the ids they would be stored under (references resolved to the items they
 * name), that repeat an id among themselves or of the `earlier` items they would follow: the
 * conversation or `previous_response_id` chain a request continues. An item id is unique there,
 * and paging by `after` relies on it.
 */
export function refuseDuplicateItems(
  items: readonly { id: string }[],
  param: 'input' | 'items',
  earlier: readonly { id: string }[] = [],
): void {
  const seen = new Set(earlier.map((item) => item.id));
  for (const { id } of items) {
    if (seen.has(id)) throw duplicateItem(id, param);
    seen.add(id);
  }
}
