import { GatewayError } from '../http/errors.js';
import type { VerifiedKey } from '../keys/key-verifier.js';
import { parseIsoTime } from '../runtime/iso-time.js';
import type { Database } from '../storage/database.js';
import type { InteractionFilter } from '../storage/queries/analytics-filter.js';
import { findTenant } from '../storage/queries/tenants.js';
import { isSessionId } from '../storage/session-id.js';
import { tenantOfParam } from './tenant-param.js';

type Query = Record<string, string | undefined>;

/** The filters every analytics route takes (README, Analytics). */
const FILTER_PARAMS = [
  'tenant_id',
  'from',
  'to',
  'key_id',
  'model',
  'provider',
  'status',
  'cache_status',
  'end_user',
  'session',
] as const;

/** The values `cache_status` takes: the gateway's cache statuses, and `none` (not recorded). */
const CACHE_STATUSES = ['hit', 'semantic-hit', 'miss', 'bypass', 'none'] as const;

/**
 * The query string of an analytics route as one value per name, refusing with a 400 naming it a
 * parameter the route does not take (a misspelt filter would otherwise widen the answer to every
 * row) or one given twice (which of the values applies would be a guess).
 */
export function routeQuery(
  queries: Record<string, string[]>,
  routeParams: readonly string[],
  takesFilters = true,
): Query {
  const query: Query = {};
  for (const [name, values] of Object.entries(queries)) {
    const known =
      routeParams.includes(name) ||
      (takesFilters && (FILTER_PARAMS as readonly string[]).includes(name));
    if (!known) {
      const allowed = [...(takesFilters ? FILTER_PARAMS : []), ...routeParams];
      throw GatewayError.invalidRequest(
        allowed.length === 0
          ? `Unknown parameter '${name}': this route takes no query parameters.`
          : `Unknown parameter '${name}': this route takes ${allowed.join(', ')}.`,
        name,
        'unknown_parameter',
      );
    }
    if (values.length > 1) {
      throw GatewayError.invalidRequest(
        `'${name}' is given more than once.`,
        name,
        'invalid_value',
      );
    }
    query[name] = values[0];
  }
  return query;
}

/** The scope that lets a key read interactions' decrypted text. */
export const CONTENT_SCOPE = 'analytics:content';

/** True when the key may read decrypted text. */
export function canReadContent(key: VerifiedKey): boolean {
  return key.scopes.includes(CONTENT_SCOPE);
}

function time(query: Query, name: 'from' | 'to'): Date | undefined {
  const value = query[name];
  if (value === undefined || value === '') return undefined;
  const at = parseIsoTime(value);
  if (at === null) {
    throw GatewayError.invalidRequest(
      `'${name}' must be an ISO 8601 date or time (UTC unless a zone is given) of an instant in the years 0001 to 9998 UTC, e.g. 2025-06-01T00:00:00Z.`,
      name,
      'invalid_value',
    );
  }
  return at;
}

function text(query: Query, name: string): string | undefined {
  const value = query[name];
  return value === undefined || value === '' ? undefined : value;
}

function session(query: Query): string | undefined {
  const value = text(query, 'session');
  if (value !== undefined && !isSessionId(value)) {
    throw GatewayError.invalidRequest(
      "'session' must be a session id: 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'.",
      'session',
    );
  }
  return value;
}

function cacheStatus(query: Query): string | undefined {
  const value = text(query, 'cache_status');
  if (value !== undefined && !(CACHE_STATUSES as readonly string[]).includes(value)) {
    throw GatewayError.invalidRequest(
      `'cache_status' must be one of: ${CACHE_STATUSES.join(', ')} (none = not recorded).`,
      'cache_status',
      'invalid_value',
    );
  }
  return value;
}

/** `from` and `to`, refusing a range that ends before it starts (`to` is exclusive). */
function range(query: Query): { from?: Date; to?: Date } {
  const from = time(query, 'from');
  const to = time(query, 'to');
  if (from && to && to < from) {
    throw GatewayError.invalidRequest(
      `'to' (${to.toISOString()}) is before 'from' (${from.toISOString()}); the range is from 'from' up to 'to', exclusive.`,
      'to',
      'invalid_value',
    );
  }
  return { from, to };
}

function status(query: Query): InteractionFilter['status'] {
  const value = text(query, 'status');
  if (value === undefined) return undefined;
  if (value === 'error' || value === 'ok') return value;
  if (/^[1-5]\d\d$/.test(value)) return Number(value);
  throw GatewayError.invalidRequest(
    "'status' must be an HTTP status (e.g. 429), 'error' (>= 400) or 'ok' (< 400).",
    'status',
  );
}

/**
 * The tenant `tenant_id` names, by id or by name as the admin routes take it: an admin key may
 * name any tenant (an unknown one is a 400) or none (every tenant); any other key only its own,
 * and is refused with 403 for any other name, known or not, so it learns nothing of other tenants.
 */
async function tenantOf(query: Query, key: VerifiedKey, db: Database): Promise<string | null> {
  const asked = text(query, 'tenant_id');
  const isAdmin = key.scopes.includes('admin');
  if (asked === undefined) return isAdmin ? null : key.tenantId;
  if (asked === key.tenantId) return asked;
  if (isAdmin) return (await tenantOfParam(db, asked, 'tenant_id')).id;
  const tenant = await findTenant(db, asked);
  if (tenant?.id !== key.tenantId) throw GatewayError.insufficientScope('admin');
  return key.tenantId;
}

/**
 * Turns the query string into a filter. A key sees its own tenant only; `tenant_id` chooses
 * another tenant (or, absent, every tenant) only for a key with the `admin` scope.
 */
export async function parseFilter(
  query: Query,
  key: VerifiedKey,
  db: Database,
): Promise<InteractionFilter> {
  const filter: InteractionFilter = {
    tenantId: await tenantOf(query, key, db),
    ...range(query),
    keyId: text(query, 'key_id'),
    model: text(query, 'model'),
    provider: text(query, 'provider'),
    status: status(query),
    cacheStatus: cacheStatus(query),
    endUser: text(query, 'end_user'),
    sessionId: session(query),
  };
  return filter;
}

/** The filter as it was asked for, for the audit log and the summary's echo. */
export function filterDetails(filter: InteractionFilter): Record<string, string | number | null> {
  const details: Record<string, string | number | null> = { tenant_id: filter.tenantId };
  if (filter.from) details.from = filter.from.toISOString();
  if (filter.to) details.to = filter.to.toISOString();
  if (filter.keyId !== undefined) details.key_id = filter.keyId;
  if (filter.model !== undefined) details.model = filter.model;
  if (filter.provider !== undefined) details.provider = filter.provider;
  if (filter.status !== undefined) details.status = filter.status;
  if (filter.cacheStatus !== undefined) details.cache_status = filter.cacheStatus;
  if (filter.endUser !== undefined) details.end_user = filter.endUser;
  if (filter.sessionId !== undefined) details.session = filter.sessionId;
  return details;
}

/** The parameters of a paged route, besides the filters. */
export const PAGE_PARAMS = ['limit', 'cursor'] as const;

/** Parses `limit`: 1 to 1000, default 100. */
export function parseLimit(query: Query): number {
  const value = text(query, 'limit');
  if (value === undefined) return 100;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1000) {
    throw GatewayError.invalidRequest("'limit' must be an integer from 1 to 1000.", 'limit');
  }
  return Number(value);
}

/** Reads one of a fixed set of values, with a default. */
export function parseChoice<T extends string>(
  query: Query,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const value = text(query, name);
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw GatewayError.invalidRequest(`'${name}' must be one of: ${choices.join(', ')}.`, name);
  }
  return value as T;
}
