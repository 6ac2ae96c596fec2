import type { SQL } from 'drizzle-orm';
import { and, eq, gte, isNull, lt } from 'drizzle-orm';
import { interactions } from '../schema.js';

/** Which interactions an analytics query covers; `tenantId: null` means every tenant (admin only). */
export interface InteractionFilter {
  tenantId: string | null;
  /** Inclusive lower bound on created_at. */
  from?: Date;
  /** Exclusive upper bound on created_at. */
  to?: Date;
  keyId?: string;
  /** The model the client asked for. */
  model?: string;
  /** The configured upstream the answer came from (interactions.provider). */
  provider?: string;
  /** An exact HTTP status, or `error` (>= 400) / `ok` (< 400). */
  status?: number | 'error' | 'ok';
  /** `none` matches rows recorded without a cache status. */
  cacheStatus?: string;
  endUser?: string;
  /** Rows of one session. */
  sessionId?: string;
}

/** The WHERE conditions of a filter, for any query over `interactions`. */
export function filterConditions(f: InteractionFilter): SQL | undefined {
  const parts: (SQL | undefined)[] = [];
  if (f.tenantId !== null) parts.push(eq(interactions.tenantId, f.tenantId));
  if (f.from) parts.push(gte(interactions.createdAt, f.from));
  if (f.to) parts.push(lt(interactions.createdAt, f.to));
  if (f.keyId !== undefined) parts.push(eq(interactions.keyId, f.keyId));
  if (f.model !== undefined) parts.push(eq(interactions.model, f.model));
  if (f.provider !== undefined) parts.push(eq(interactions.provider, f.provider));
  if (f.status === 'error') parts.push(gte(interactions.status, 400));
  else if (f.status === 'ok') parts.push(lt(interactions.status, 400));
  else if (f.status !== undefined) parts.push(eq(interactions.status, f.status));
  if (f.cacheStatus === 'none') parts.push(isNull(interactions.cacheStatus));
  else if (f.cacheStatus !== undefined) parts.push(eq(interactions.cacheStatus, f.cacheStatus));
  if (f.endUser !== undefined) parts.push(eq(interactions.endUser, f.endUser));
  if (f.sessionId !== undefined) parts.push(eq(interactions.sessionId, f.sessionId));
  return parts.length === 0 ? undefined : and(...parts);
}
