import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db.js';
import { interactions } from '../schema.js';
import type { InteractionFilter } from './analytics-filter.js';
import { filterConditions } from './analytics-filter.js';
import { selectRows } from './raw-rows.js';

const SUMMARY_WORK_MEM = '64MB';

/** What a summary can be grouped by. */
export const SUMMARY_GROUPS = ['hour', 'day', 'model', 'key', 'end_user', 'cache_status'] as const;
/** One grouping. */
export type SummaryGroup = (typeof SUMMARY_GROUPS)[number];

/** A price per million tokens for one model name, as the summary's cost lookup uses it. */
export interface PriceRow {
  name: string;
  input: number;
  output: number;
}

/** Aggregates over a set of interactions. Money is an estimate from the price table. */
export interface SummaryMetrics {
  requests: number;
  errors: number;
  cacheHits: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  ttftP50Ms: number | null;
  ttftP95Ms: number | null;
  promptTokens: number;
  completionTokens: number;
  /** Tokens the cache saved: each hit's cached answer total (what the upstream would have billed). */
  tokensSavedCache: number;
  tokensSavedCompression: number;
  estimatedCostUsd: number;
  savingsCacheUsd: number;
  savingsCompressionUsd: number;
  /** Requests whose model has no price: left out of every money figure. */
  unpricedRequests: number;
}

/** Per-group metrics and the totals over every group. */
export interface Summary {
  groups: (SummaryMetrics & { group: string | null })[];
  totals: SummaryMetrics;
}

const TIME_GROUPS: Record<'hour' | 'day', SQL> = {
  hour: sql`date_trunc('hour', ${interactions.createdAt} at time zone 'UTC')`,
  day: sql`date_trunc('day', ${interactions.createdAt} at time zone 'UTC')`,
};

function groupExpression(group: SummaryGroup): SQL {
  switch (group) {
    case 'hour':
    case 'day':
      return TIME_GROUPS[group];
    case 'model':
      return sql`${interactions.model}`;
    case 'key':
      return sql`${interactions.keyId}`;
    case 'end_user':
      return sql`${interactions.endUser}`;
    case 'cache_status':
      return sql`${interactions.cacheStatus}`;
  }
}

function priceValues(prices: readonly PriceRow[]): SQL {
  // A never-matching row keeps the VALUES list valid when the table is empty.
  const rows = [{ name: '', input: 0, output: 0 }, ...prices].map(
    (p) => sql`(${p.name}::text, ${p.input}::float8, ${p.output}::float8)`,
  );
  return sql`(values ${sql.join(rows, sql`, `)}) as price(name, input, output)`;
}

interface RawSummaryRow {
  grp: string | null;
  requests: number;
  errors: number;
  cache_hits: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  ttft_p50_ms: number | null;
  ttft_p95_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  tokens_saved_cache: number;
  tokens_saved_compression: number;
  estimated_cost_usd: number;
  savings_cache_usd: number;
  savings_compression_usd: number;
  unpriced_requests: number;
}

function metrics(r: RawSummaryRow): SummaryMetrics {
  return {
    requests: Number(r.requests),
    errors: Number(r.errors),
    cacheHits: Number(r.cache_hits),
    latencyP50Ms: r.latency_p50_ms,
    latencyP95Ms: r.latency_p95_ms,
    ttftP50Ms: r.ttft_p50_ms,
    ttftP95Ms: r.ttft_p95_ms,
    promptTokens: Number(r.prompt_tokens),
    completionTokens: Number(r.completion_tokens),
    tokensSavedCache: Number(r.tokens_saved_cache),
    tokensSavedCompression: Number(r.tokens_saved_compression),
    estimatedCostUsd: Number(r.estimated_cost_usd),
    savingsCacheUsd: Number(r.savings_cache_usd),
    savingsCompressionUsd: Number(r.savings_compression_usd),
    unpricedRequests: Number(r.unpriced_requests),
  };
}

const EMPTY: SummaryMetrics = metrics({
  grp: null,
  requests: 0,
  errors: 0,
  cache_hits: 0,
  latency_p50_ms: null,
  latency_p95_ms: null,
  ttft_p50_ms: null,
  ttft_p95_ms: null,
  prompt_tokens: 0,
  completion_tokens: 0,
  tokens_saved_cache: 0,
  tokens_saved_compression: 0,
  estimated_cost_usd: 0,
  savings_cache_usd: 0,
  savings_compression_usd: 0,
  unpriced_requests: 0,
});

function metricColumns(): SQL {
  const i = interactions;
  const hit = sql`${i.cacheStatus} in ('hit', 'semantic-hit')`;
  const prompt = sql`coalesce(${i.promptTokens}, 0)`;
  const completion = sql`coalesce(${i.completionTokens}, 0)`;
  const listPrice = sql`(${prompt} * price.input + ${completion} * price.output) / 1e6`;
  // A hit records the cached answer's total tokens; without its prompt/completion split the
  // saving is priced at the input rate: a lower bound, as output tokens cost more.
  const savedByHit = sql`coalesce(${i.tokensSavedCache}, ${prompt} + ${completion})`;
  return sql`count(*)::float8 as requests,
      (count(*) filter (where ${i.status} >= 400))::float8 as errors,
      (count(*) filter (where ${hit}))::float8 as cache_hits,
      percentile_cont(0.5) within group (order by ${i.latencyMs}) as latency_p50_ms,
      percentile_cont(0.95) within group (order by ${i.latencyMs}) as latency_p95_ms,
      percentile_cont(0.5) within group (order by ${i.ttftMs}) as ttft_p50_ms,
      percentile_cont(0.95) within group (order by ${i.ttftMs}) as ttft_p95_ms,
      coalesce(sum(${i.promptTokens}), 0)::float8 as prompt_tokens,
      coalesce(sum(${i.completionTokens}), 0)::float8 as completion_tokens,
      coalesce(sum(${savedByHit}) filter (where ${hit}), 0)::float8 as tokens_saved_cache,
      coalesce(sum(${i.tokensSavedCompression}), 0)::float8 as tokens_saved_compression,
      coalesce(sum(${listPrice}) filter (where not coalesce(${hit}, false)), 0)::float8 as estimated_cost_usd,
      coalesce(sum(case when ${i.promptTokens} is null and ${i.completionTokens} is null then ${savedByHit} * price.input / 1e6 else ${listPrice} end) filter (where ${hit}), 0)::float8 as savings_cache_usd,
      coalesce(sum(coalesce(${i.tokensSavedCompression}, 0) * price.input / 1e6), 0)::float8 as savings_compression_usd,
      (count(*) filter (where price.name is null))::float8 as unpriced_requests`;
}

/**
 * Aggregates the filtered interactions per group and in total: counts, latency and
 * time-to-first-token percentiles, tokens, cache and compression savings, and money estimated from
 * `prices` (looked up by the upstream model, else the requested one). Cache savings are the prompt
 * and completion tokens of cache hits (`hit`, `semantic-hit`); cache hits cost nothing. The groups
 * and the totals are two statements: exact percentiles cannot be added up, and GROUPING SETS with
 * ordered-set aggregates measured several times slower.
 */
export async function summarizeInteractions(
  db: Database,
  filter: InteractionFilter,
  group: SummaryGroup,
  prices: readonly PriceRow[],
): Promise<Summary> {
  const g = groupExpression(group);
  const i = interactions;
  const where = filterConditions(filter);
  const from = sql`from ${i}
    left join ${priceValues(prices)} on price.name = coalesce(${i.upstreamModel}, ${i.model})
    ${where ? sql`where ${where}` : sql``}`;
  const isTime = group === 'hour' || group === 'day';
  const groupText = isTime ? sql`to_char(${g}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')` : g;
  const order = isTime ? sql`${g} asc` : sql`count(*) desc, ${g} asc nulls last`;
  // One transaction so its settings apply to both statements: sorts for the percentiles stay in
  // memory, and JIT compilation (slower than these scans it would speed up) is skipped.
  const { groups, totals } = await db.transaction(async (tx) => {
    await tx.execute(sql.raw(`set local work_mem = '${SUMMARY_WORK_MEM}'`));
    await tx.execute(sql.raw('set local jit = off'));
    const perGroup = await selectRows<RawSummaryRow>(
      tx,
      sql`select ${groupText} as grp, ${metricColumns()} ${from} group by ${g} order by ${order}`,
    );
    const all = await selectRows<RawSummaryRow>(
      tx,
      sql`select null as grp, ${metricColumns()} ${from}`,
    );
    return { groups: perGroup, totals: all };
  });
  const total = totals[0];
  return {
    groups: groups.map((r) => ({ group: r.grp, ...metrics(r) })),
    totals: total ? metrics(total) : EMPTY,
  };
}
