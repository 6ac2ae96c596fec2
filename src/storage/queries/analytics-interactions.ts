import { and, asc, desc, eq, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import type { InteractionRow } from '../schema.js';
import { interactions } from '../schema.js';
import type { InteractionFilter } from './analytics-filter.js';
import { filterConditions } from './analytics-filter.js';

/** A position in the (created_at, id) order; created_at kept as the database's own text. */
export interface InteractionPosition {
  createdAt: string;
  id: string;
}

/** An interaction's metadata: every column but the ciphertext. */
export type InteractionMetadata = Omit<InteractionRow, 'requestEnc' | 'responseEnc'> & {
  hasContent: boolean;
  position: InteractionPosition;
};

/** Metadata plus the ciphertext, for exports that include the text. */
export type InteractionWithContent = InteractionMetadata &
  Pick<InteractionRow, 'requestEnc' | 'responseEnc'>;

/** One page of a keyset-paged listing. */
export interface InteractionPage<T> {
  rows: T[];
  hasMore: boolean;
}

/** How to read a page: size, direction, where the previous page ended. */
export interface PageRequest {
  limit: number;
  order: 'desc' | 'asc';
  after?: InteractionPosition;
}

const METADATA_COLUMNS = {
  id: interactions.id,
  clientRequestId: interactions.clientRequestId,
  sessionId: interactions.sessionId,
  endpoint: interactions.endpoint,
  createdAt: interactions.createdAt,
  tenantId: interactions.tenantId,
  keyId: interactions.keyId,
  endUser: interactions.endUser,
  model: interactions.model,
  upstreamModel: interactions.upstreamModel,
  provider: interactions.provider,
  status: interactions.status,
  errorCode: interactions.errorCode,
  cacheStatus: interactions.cacheStatus,
  cacheSimilarity: interactions.cacheSimilarity,
  stream: interactions.stream,
  promptTokens: interactions.promptTokens,
  completionTokens: interactions.completionTokens,
  tokensSavedCompression: interactions.tokensSavedCompression,
  tokensSavedCache: interactions.tokensSavedCache,
  tokensSavedCacheCompletion: interactions.tokensSavedCacheCompletion,
  compressionMode: interactions.compressionMode,
  promptTokensBeforeCompression: interactions.promptTokensBeforeCompression,
  cachedTokens: interactions.cachedTokens,
  reasoningTokens: interactions.reasoningTokens,
  usageEstimated: interactions.usageEstimated,
  latencyMs: interactions.latencyMs,
  upstreamMs: interactions.upstreamMs,
  ttftMs: interactions.ttftMs,
  hasContent: sql<boolean>`(${interactions.requestEnc} is not null or ${interactions.responseEnc} is not null)`,
  // Full microsecond precision: a JavaScript Date would round it and break the keyset.
  positionAt: sql<string>`${interactions.createdAt}::text`,
};

function afterCondition(page: PageRequest): SQL | undefined {
  if (!page.after) return undefined;
  const op = page.order === 'desc' ? sql`<` : sql`>`;
  return sql`(${interactions.createdAt}, ${interactions.id}) ${op} (${page.after.createdAt}::timestamptz, ${page.after.id}::uuid)`;
}

async function readPage<T extends { positionAt: string; id: string }>(
  query: (where: SQL | undefined, limit: number) => Promise<T[]>,
  filter: InteractionFilter,
  page: PageRequest,
): Promise<InteractionPage<Omit<T, 'positionAt'> & { position: InteractionPosition }>> {
  const rows = await query(and(filterConditions(filter), afterCondition(page)), page.limit + 1);
  const hasMore = rows.length > page.limit;
  return {
    rows: rows.slice(0, page.limit).map(({ positionAt, ...rest }) => ({
      ...rest,
      position: { createdAt: positionAt, id: rest.id },
    })),
    hasMore,
  };
}

function ordering(order: 'desc' | 'asc') {
  const dir = order === 'desc' ? desc : asc;
  return [dir(interactions.createdAt), dir(interactions.id)];
}

/** A page of interaction metadata in (created_at, id) order, newest first by default. */
export function listInteractionPage(
  db: Database,
  filter: InteractionFilter,
  page: PageRequest,
): Promise<InteractionPage<InteractionMetadata>> {
  return readPage(
    (where, limit) =>
      db
        .select(METADATA_COLUMNS)
        .from(interactions)
        .where(where)
        .orderBy(...ordering(page.order))
        .limit(limit),
    filter,
    page,
  );
}

/** Like listInteractionPage, with each row's ciphertext (for exports that include the text). */
export function listInteractionPageWithContent(
  db: Database,
  filter: InteractionFilter,
  page: PageRequest,
): Promise<InteractionPage<InteractionWithContent>> {
  return readPage(
    (where, limit) =>
      db
        .select({
          ...METADATA_COLUMNS,
          requestEnc: interactions.requestEnc,
          responseEnc: interactions.responseEnc,
        })
        .from(interactions)
        .where(where)
        .orderBy(...ordering(page.order))
        .limit(limit),
    filter,
    page,
  );
}

/** One interaction by id, only if it belongs to the tenant (`null` = any tenant). */
export async function findInteractionForTenant(
  db: Database,
  id: string,
  tenantId: string | null,
): Promise<InteractionRow | undefined> {
  const byId = eq(interactions.id, id);
  const rows = await db
    .select()
    .from(interactions)
    .where(tenantId === null ? byId : and(byId, eq(interactions.tenantId, tenantId)))
    .limit(1);
  return rows[0];
}
