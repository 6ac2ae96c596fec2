import { sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import { selectRows } from './raw-rows.js';

/** The analysts' SQL views (recreated by migration 0013), and the only relations an analyst role may read. */
export const ANALYTICS_VIEWS = ['interaction_stats_daily', 'interaction_stats_hourly'] as const;

/** Raised when roles cannot be managed here (the embedded database has no server roles). */
export class AnalystRoleError extends Error {}

const ROLE_NAME_RE = /^[a-z_][a-z0-9_]{0,62}$/;

function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Creates (if missing) a PostgreSQL role that may read the analytics views and nothing else:
 * USAGE on the schema and SELECT on the views; the views run with their owner's rights, so the
 * tables stay closed to it. NOLOGIN unless a password is given.
 */
export async function grantAnalystRole(
  db: Database,
  role: string,
  options: { password?: string } = {},
): Promise<{ created: boolean }> {
  if (!ROLE_NAME_RE.test(role)) {
    throw new AnalystRoleError(
      `role name '${role}' must be lower-case letters, digits and underscores, starting with a letter`,
    );
  }
  const existing = await selectRows<RoleReach>(
    db,
    sql`select r.rolsuper as superuser, r.rolcreaterole as create_role, r.rolcreatedb as create_db,
          r.rolreplication as replication, r.rolbypassrls as bypass_rls,
          exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                  where n.nspname = 'public' and c.relkind in ('r', 'p')
                    and has_table_privilege(r.oid, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE'))
            as reaches_tables
        from pg_roles r where r.rolname = ${role}`,
  );
  const found = existing[0];
  const beyond = found === undefined ? [] : beyondAnalyst(found);
  if (beyond.length > 0) {
    // Its password would change and it would keep all of it: an analyst role is a new one.
    throw new AnalystRoleError(
      `role '${role}' already exists and may do more than read the analytics views (${beyond.join(', ')}); name a new role`,
    );
  }
  const ident = `"${role}"`;
  const login =
    options.password === undefined ? 'NOLOGIN' : `LOGIN PASSWORD ${quoteLiteral(options.password)}`;
  // Role DDL takes no bind parameters; the name is checked above and the password quoted.
  if (existing.length === 0) await db.execute(sql.raw(`CREATE ROLE ${ident} ${login}`));
  else if (options.password !== undefined)
    await db.execute(sql.raw(`ALTER ROLE ${ident} ${login}`));
  await db.execute(sql.raw(`GRANT USAGE ON SCHEMA public TO ${ident}`));
  await db.execute(sql.raw(`GRANT SELECT ON ${ANALYTICS_VIEWS.join(', ')} TO ${ident}`));
  return { created: existing.length === 0 };
}

/** What an existing role may do besides reading the views, as pg_roles and the tables say. */
interface RoleReach {
  superuser: boolean;
  create_role: boolean;
  create_db: boolean;
  replication: boolean;
  bypass_rls: boolean;
  reaches_tables: boolean;
}

function beyondAnalyst(r: RoleReach): string[] {
  const flags: [boolean, string][] = [
    [r.superuser, 'superuser'],
    [r.create_role, 'CREATEROLE'],
    [r.create_db, 'CREATEDB'],
    [r.replication, 'REPLICATION'],
    [r.bypass_rls, 'BYPASSRLS'],
    [r.reaches_tables, "access to the gateway's tables"],
  ];
  return flags.filter(([has]) => has).map(([, name]) => name);
}

/** One row of interaction_stats_daily or _hourly, numbers as numbers. */
export interface ViewStatsRow {
  tenantId: string;
  bucket: string;
  model: string | null;
  requests: number;
  errors: number;
  cacheHits: number;
  promptTokens: number;
  completionTokens: number;
  tokensSavedCache: number;
  tokensSavedCompression: number;
  cachedTokens: number;
  reasoningTokens: number;
  /** Rows whose token counts are the gateway's estimate, and their tokens. */
  usageEstimatedRequests: number;
  usageEstimatedTokens: number;
  unpricedRequests: number;
  estimatedCostUsd: number;
  savingsCacheUsd: number;
  savingsCompressionUsd: number;
  savingsProviderCacheUsd: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
}

/** Reads a tenant's rows of one analytics view, oldest bucket first (what a BI tool would see). */
export async function readViewStats(
  db: Database,
  view: 'daily' | 'hourly',
  tenantId: string,
): Promise<ViewStatsRow[]> {
  const bucket = view === 'daily' ? sql.raw('"day"') : sql.raw('"hour"');
  const relation = sql.raw(`interaction_stats_${view}`);
  return (
    await selectRows<Record<string, string | number | null>>(
      db,
      sql`select tenant_id, to_char(${bucket}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as bucket, model,
        requests::float8 as requests, errors::float8 as errors, cache_hits::float8 as cache_hits,
        prompt_tokens::float8 as prompt_tokens, completion_tokens::float8 as completion_tokens,
        tokens_saved_cache::float8 as tokens_saved_cache,
        tokens_saved_compression::float8 as tokens_saved_compression,
        cached_tokens::float8 as cached_tokens, reasoning_tokens::float8 as reasoning_tokens,
        usage_estimated_requests::float8 as usage_estimated_requests,
        usage_estimated_tokens::float8 as usage_estimated_tokens,
        unpriced_requests::float8 as unpriced_requests, estimated_cost_usd, savings_cache_usd,
        savings_compression_usd, savings_provider_cache_usd, latency_p50_ms, latency_p95_ms
      from ${relation} where tenant_id = ${tenantId} order by ${bucket}, model`,
    )
  ).map((r) => ({
    tenantId: String(r.tenant_id),
    bucket: String(r.bucket),
    model: r.model === null ? null : String(r.model),
    requests: Number(r.requests),
    errors: Number(r.errors),
    cacheHits: Number(r.cache_hits),
    promptTokens: Number(r.prompt_tokens),
    completionTokens: Number(r.completion_tokens),
    tokensSavedCache: Number(r.tokens_saved_cache),
    tokensSavedCompression: Number(r.tokens_saved_compression),
    cachedTokens: Number(r.cached_tokens),
    reasoningTokens: Number(r.reasoning_tokens),
    usageEstimatedRequests: Number(r.usage_estimated_requests),
    usageEstimatedTokens: Number(r.usage_estimated_tokens),
    unpricedRequests: Number(r.unpriced_requests),
    estimatedCostUsd: Number(r.estimated_cost_usd),
    savingsCacheUsd: Number(r.savings_cache_usd),
    savingsCompressionUsd: Number(r.savings_compression_usd),
    savingsProviderCacheUsd: Number(r.savings_provider_cache_usd),
    latencyP50Ms: r.latency_p50_ms === null ? null : Number(r.latency_p50_ms),
    latencyP95Ms: r.latency_p95_ms === null ? null : Number(r.latency_p95_ms),
  }));
}
