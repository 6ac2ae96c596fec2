import { GatewayError } from './errors.js';

/** The paging a list route was asked for: OpenAI's `after`, `limit` (1–100) and `order`. */
export interface ListParams {
  after: string | null;
  limit: number;
  order: 'asc' | 'desc';
}

/** OpenAI's list object: a page of items with the ids at its ends. */
export interface ListPage<T extends { id: string }> {
  object: 'list';
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

/**
 * Reads `after`, `limit` and `order` from a query string, or answers 400 naming the parameter.
 * The order defaults to newest first, as OpenAI's item lists do.
 */
export function parseListParams(query: (name: string) => string | undefined): ListParams {
  const limitText = query('limit');
  let limit = DEFAULT_LIMIT;
  if (limitText !== undefined) {
    limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_LIMIT) {
      throw GatewayError.invalidRequest(
        `Invalid 'limit': expected an integer between 1 and ${MAX_LIMIT}, but got '${limitText}'.`,
        'limit',
        'invalid_value',
      );
    }
  }
  const order = query('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') {
    throw GatewayError.invalidRequest(
      `Invalid value for 'order': '${order}'. Supported values are: 'asc' and 'desc'.`,
      'order',
      'invalid_value',
    );
  }
  const after = query('after');
  return { after: after === undefined || after === '' ? null : after, limit, order };
}

/** A page as OpenAI's list object. */
export function listPage<T extends { id: string }>(data: T[], hasMore: boolean): ListPage<T> {
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: hasMore,
  };
}

/**
 * One page of a list held in memory (oldest first), as the params ask; null if `after` is unknown.
 * `after` names the first item with that id in the order asked for; a page does not end on a later
 * one (an id an earlier version stored twice), or the next page would start again after the first:
 * such a page takes in the items after it, up to one whose id is not repeated.
 */
export function pageOf<T extends { id: string }>(
  items: readonly T[],
  params: ListParams,
): ListPage<T> | null {
  const ordered = params.order === 'asc' ? [...items] : [...items].reverse();
  const firstAt = new Map<string, number>();
  ordered.forEach((item, i) => {
    if (!firstAt.has(item.id)) firstAt.set(item.id, i);
  });
  let start = 0;
  if (params.after !== null) {
    const at = firstAt.get(params.after);
    if (at === undefined) return null;
    start = at + 1;
  }
  let end = Math.min(start + params.limit, ordered.length);
  const repeated = (i: number) => {
    const item = ordered[i];
    return item !== undefined && firstAt.get(item.id) !== i;
  };
  while (end > start && end < ordered.length && repeated(end - 1)) end += 1;
  return listPage(ordered.slice(start, end), end < ordered.length);
}
