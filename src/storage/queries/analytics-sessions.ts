import { and, isNotNull, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import { interactions } from '../schema.js';
import type { InteractionFilter } from './analytics-filter.js';
import { filterConditions } from './analytics-filter.js';
import type { PriceRow } from './analytics-summary.js';
import { BILLABLE_ROW, HIT, priceValues } from './analytics-summary.js';
import { selectRows } from './raw-rows.js';

/**
 * A position in the sessions' order (last activity, tenant, id; newest first); the time kept as
 * the database's own text so no precision is lost between pages.
 */
export interface SessionPosition {
  lastAt: string;
  tenantId: string;
  sessionId: string;
}

/** One session's aggregates over the interactions the filter matched. */
export interface SessionSummary {
  sessionId: string;
  tenantId: string;
  firstAt: Date;
  lastAt: Date;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  /** Estimated from the price table; cache hits cost nothing. */
  estimatedCostUsd: number;
  /** Requests whose model has no price: left out of the cost. */
  unpricedRequests: number;
  models: string[];
  keyIds: string[];
  endUsers: string[];
  position: SessionPosition;
}

interface RawSession {
  session_id: string;
  tenant_id: string;
  first_at: string | Date;
  last_at: string | Date;
  last_at_text: string;
  requests: number | string;
  errors: number | string;
  prompt_tokens: number | string;
  completion_tokens: number | string;
  estimated_cost_usd: number | string;
  unpriced_requests: number | string;
  models: string[] | null;
  key_ids: string[] | null;
  end_users: string[] | null;
}

function afterSession(after: SessionPosition | undefined): SQL {
  if (!after) return sql``;
  return sql`having (max(${interactions.createdAt}), ${interactions.tenantId}, ${interactions.sessionId})
    < (${after.lastAt}::timestamptz, ${after.tenantId}, ${after.sessionId})`;
}

function sessionOf(r: RawSession): SessionSummary {
  return {
    sessionId: r.session_id,
    tenantId: r.tenant_id,
    firstAt: new Date(r.first_at),
    lastAt: new Date(r.last_at),
    requests: Number(r.requests),
    errors: Number(r.errors),
    promptTokens: Number(r.prompt_tokens),
    completionTokens: Number(r.completion_tokens),
    estimatedCostUsd: Number(r.estimated_cost_usd),
    unpricedRequests: Number(r.unpriced_requests),
    models: r.models ?? [],
    keyIds: r.key_ids ?? [],
    endUsers: r.end_users ?? [],
    position: { lastAt: r.last_at_text, tenantId: r.tenant_id, sessionId: r.session_id },
  };
}

/**
 * A page of sessions, most recently active first: each the aggregate of its interactions that
 * match the filter (a session with none in the filter's range is not listed). Sessions are per
 * tenant, so an admin reading every tenant sees two tenants' equal ids as two sessions.
 */
export async function listSessionPage(
  db: Database,
  filter: InteractionFilter,
  page: { limit: number; after?: SessionPosition },
  prices: readonly PriceRow[],
): Promise<{ rows: SessionSummary[]; hasMore: boolean }> {
  const where = and(filterConditions(filter), isNotNull(interactions.sessionId));
  const last = sql`max(${interactions.createdAt})`;
  const order = sql`${last} desc, ${interactions.tenantId} desc, ${interactions.sessionId} desc`;
  // The page's sessions first (only their last activity, which the session index answers), then
  // the aggregates of those sessions alone: a page costs one pass over the ids, not over the text.
  const rows = await selectRows<RawSession>(
    db,
    sql`with page as (
        select ${interactions.tenantId} as page_tenant, ${interactions.sessionId} as page_session
        from ${interactions}
        where ${where}
        group by ${interactions.tenantId}, ${interactions.sessionId}
        ${afterSession(page.after)}
        order by ${order}
        limit ${page.limit + 1}
      )
      select ${interactions.sessionId} as session_id, ${interactions.tenantId} as tenant_id,
        min(${interactions.createdAt}) as first_at, ${last} as last_at, ${last}::text as last_at_text,
        count(*) as requests,
        count(*) filter (where ${interactions.status} >= 400) as errors,
        coalesce(sum(${interactions.promptTokens}), 0) as prompt_tokens,
        coalesce(sum(${interactions.completionTokens}), 0) as completion_tokens,
        coalesce(sum(((coalesce(${interactions.promptTokens}, 0) - coalesce(${interactions.cachedTokens}, 0)) * price.input
          + coalesce(${interactions.cachedTokens}, 0) * price.cached_input
          + coalesce(${interactions.completionTokens}, 0) * price.output) / 1e6)
          filter (where not ${HIT}), 0)::float8 as estimated_cost_usd,
        count(*) filter (where price.name is null and (${BILLABLE_ROW})) as unpriced_requests,
        array_agg(distinct ${interactions.model}) filter (where ${interactions.model} is not null) as models,
        array_agg(distinct ${interactions.keyId}) as key_ids,
        array_agg(distinct ${interactions.endUser}) filter (where ${interactions.endUser} is not null) as end_users
      from ${interactions}
      join page on page_tenant = ${interactions.tenantId} and page_session = ${interactions.sessionId}
      left join ${priceValues(prices)}
        on price.name = coalesce(${interactions.upstreamModel}, ${interactions.model})
      where ${where}
      group by ${interactions.tenantId}, ${interactions.sessionId}
      order by ${order}`,
  );
  return { rows: rows.slice(0, page.limit).map(sessionOf), hasMore: rows.length > page.limit };
}
