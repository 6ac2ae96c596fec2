import { GatewayError } from '../http/errors.js';
import type { VerifiedKey } from '../keys/key-verifier.js';
import { parseIsoTime } from '../runtime/iso-time.js';
import type { Database } from '../storage/database.js';
import type { InteractionFilter } from '../storage/queries/analytics-filter.js';
import { findTenant } from '../storage/queries/tenants.js';
import { isSessionId } from '../storage/session-id.js';
import { tenantOfParam } from './tenant-param.js';

type Query = Record<string, string | undefined>;

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
    from: time(query, 'from'),
    to: time(query, 'to'),
    keyId: text(query, 'key_id'),
    model: text(query, 'model'),
    status: status(query),
    cacheStatus: text(query, 'cache_status'),
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
  if (filter.status !== undefined) details.status = filter.status;
  if (filter.cacheStatus !== undefined) details.cache_status = filter.cacheStatus;
  if (filter.endUser !== undefined) details.end_user = filter.endUser;
  if (filter.sessionId !== undefined) details.session = filter.sessionId;
  return details;
}

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
