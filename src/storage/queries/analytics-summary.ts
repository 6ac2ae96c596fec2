import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import type { InteractionFilter } from './analytics-filter.js';
import { selectRows } from './raw-rows.js';
import {
  EMPTY_METRICS,
  metricsOfRow,
  type RawSummaryRow,
  type Summary,
} from './summary-metrics.js';

const SUMMARY_WORK_MEM = '64MB';

/** What a summary can be grouped by. */
export const SUMMARY_GROUPS = [
  'hour',
  'day',
  'model',
  'key',
  'end_user',
  'cache_status',
  'provider',
] as const;
/** One grouping. */
export type SummaryGroup = (typeof SUMMARY_GROUPS)[number];

/** A price per million tokens for one model name, as the summary's cost lookup uses it. */
export interface PriceRow {
  name: string;
  input: number;
  /** Input tokens the provider served from its prompt cache. */
  cachedInput: number;
  output: number;
}

/**
 * The rollup tables (migration 0008) and their pending deltas, in the same shapes (migration
 * 0017): counters per day and dimensions (the provider one since migration 0025), and histogram
 * buckets.
 */
const ROLLUPS = sql.raw('interaction_rollups_daily');
const HISTOGRAMS = sql.raw('interaction_histograms_daily');
const PENDING_ROLLUPS = sql.raw('interaction_rollup_pending');
const PENDING_HISTOGRAMS = sql.raw('interaction_histogram_pending');
const LOG = sql.raw('interactions');

const DAY_MS = 86_400_000;

/** Groups the daily rollups can answer; the others need the log's key, end user or hour. */
const ROLLUP_GROUPS: ReadonlySet<SummaryGroup> = new Set([
  'day',
  'model',
  'cache_status',
  'provider',
]);

/** True for a cache hit (exact or semantic): it cost nothing upstream. */
export const HIT = sql`coalesce(cache_status in ('hit', 'semantic-hit'), false)`;
const SEMANTIC = sql`coalesce(cache_status = 'semantic-hit', false)`;

/**
 * A request that used or saved tokens: answered, or with tokens counted. Only such requests of a
 * model without a price leave money out (`unpriced_requests`); one refused, or failed upstream
 * without usage, cost nothing. Per log row, and per rollup row (a day's requests of one status).
 */
export const BILLABLE_ROW = sql`status < 400 or coalesce(prompt_tokens, 0) <> 0
  or coalesce(completion_tokens, 0) <> 0 or coalesce(tokens_saved_cache, 0) <> 0
  or coalesce(tokens_saved_compression, 0) <> 0`;
const BILLABLE_ROLLUP = sql`status < 400 or prompt_tokens <> 0 or completion_tokens <> 0
  or tokens_saved_cache <> 0 or tokens_saved_compression <> 0`;

/**
 * What a cache hit saved, in US dollars at `price`: its prompt tokens at the input rate, its
 * completion tokens at the output rate. A hit's row has no usage of its own (`su`: its saved
 * total, `scc`: the completion part of it); rows written before the split was kept price all of
 * `su` at the input rate.
 */
const HIT_SAVING_USD = sql`((p + su - scc) * price.input + (c + scc) * price.output) / 1e6`;

/** The group column of a source: `day` in the rollups, derived from created_at in log rows. */
function groupColumn(group: SummaryGroup, source: 'rollup' | 'rows'): SQL {
  switch (group) {
    case 'hour':
      return sql`date_trunc('hour', created_at at time zone 'UTC')`;
    case 'day':
      return source === 'rollup' ? sql`day` : sql`date_trunc('day', created_at at time zone 'UTC')`;
    case 'model':
      return sql`model`;
    case 'key':
      return sql`key_id`;
    case 'end_user':
      return sql`end_user`;
    case 'cache_status':
      return sql`cache_status`;
    case 'provider':
      return sql`provider`;
  }
}

/**
 * The filter's conditions on the columns every source has (tenant, model, provider, status, cache
 * status), plus key, end user and session, which only the log has.
 */
function dimensionConditions(f: InteractionFilter): SQL[] {
  const parts: SQL[] = [];
  if (f.tenantId !== null) parts.push(sql`tenant_id = ${f.tenantId}`);
  if (f.model !== undefined) parts.push(sql`model = ${f.model}`);
  if (f.provider !== undefined) parts.push(sql`provider = ${f.provider}`);
  if (f.status === 'error') parts.push(sql`status >= 400`);
  else if (f.status === 'ok') parts.push(sql`status < 400`);
  else if (f.status !== undefined) parts.push(sql`status = ${f.status}`);
  if (f.cacheStatus === 'none') parts.push(sql`cache_status is null`);
  else if (f.cacheStatus !== undefined) parts.push(sql`cache_status = ${f.cacheStatus}`);
  if (f.keyId !== undefined) parts.push(sql`key_id = ${f.keyId}`);
  if (f.endUser !== undefined) parts.push(sql`end_user = ${f.endUser}`);
  if (f.sessionId !== undefined) parts.push(sql`session_id = ${f.sessionId}`);
  return parts;
}

/** A created_at range [from, to); either end may be open. */
interface TimeRange {
  from?: Date;
  to?: Date;
}

function rangeConditions(column: SQL, r: TimeRange, cast: SQL): SQL[] {
  const parts: SQL[] = [];
  if (r.from) parts.push(sql`${column} >= ${r.from.toISOString()}::timestamptz${cast}`);
  if (r.to) parts.push(sql`${column} < ${r.to.toISOString()}::timestamptz${cast}`);
  return parts;
}

function where(parts: SQL[]): SQL {
  return parts.length === 0 ? sql`true` : sql.join(parts, sql` and `);
}

/**
 * Where each part of the filter's time range is read from: whole UTC days from the rollups (plus
 * their pending deltas), the partial days at either end from the log itself.
 */
interface Plan {
  days: TimeRange | null;
  logRanges: TimeRange[];
}

function plan(f: InteractionFilter, group: SummaryGroup): Plan {
  const canRollUp =
    ROLLUP_GROUPS.has(group) &&
    f.keyId === undefined &&
    f.endUser === undefined &&
    f.sessionId === undefined;
  if (!canRollUp) return { days: null, logRanges: [{ from: f.from, to: f.to }] };
  const firstDay = f.from ? new Date(Math.ceil(f.from.getTime() / DAY_MS) * DAY_MS) : undefined;
  const endDay = f.to ? new Date(Math.floor(f.to.getTime() / DAY_MS) * DAY_MS) : undefined;
  if (firstDay && endDay && firstDay >= endDay) {
    return { days: null, logRanges: [{ from: f.from, to: f.to }] };
  }
  const logRanges: TimeRange[] = [];
  if (f.from && firstDay && f.from < firstDay) logRanges.push({ from: f.from, to: firstDay });
  if (f.to && endDay && endDay < f.to) logRanges.push({ from: endDay, to: f.to });
  return { days: { from: firstDay, to: endDay }, logRanges };
}

/** Counters of log rows in the rollup's shape. */
function rowCounters(g: SQL, conditions: SQL): SQL {
  return sql`select ${g} as grp, coalesce(upstream_model, model) as price_key, ${HIT} as hit,
      ${SEMANTIC} as sem, status >= 400 as err, 1 as requests,
      coalesce(prompt_tokens, 0) as p,
      coalesce(completion_tokens, 0) as c,
      coalesce(tokens_saved_cache, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)) as sc,
      (case when prompt_tokens is null and completion_tokens is null
        then coalesce(tokens_saved_cache, 0) else 0 end) as su,
      (case when prompt_tokens is null and completion_tokens is null
        then least(coalesce(tokens_saved_cache_completion, 0), coalesce(tokens_saved_cache, 0))
        else 0 end) as scc,
      (case when (${BILLABLE_ROW}) then 1 else 0 end) as b,
      coalesce(tokens_saved_compression, 0) as sz,
      coalesce(cached_tokens, 0) as ct,
      coalesce(reasoning_tokens, 0) as rt,
      (case when usage_estimated then 1 else 0 end) as er,
      (case when usage_estimated
        then coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0) else 0 end) as et
    from ${LOG} where ${conditions}`;
}

/** Latency (metric 0) and time-to-first-token (metric 1) histogram buckets of log rows. */
function rowBuckets(g: SQL, conditions: SQL): SQL {
  const value = sql`case m.metric when 0 then latency_ms else ttft_ms end`;
  return sql`select ${g} as grp, m.metric, tollgate_latency_bucket(${value}) as bucket, 1 as n
    from ${LOG} cross join (values (0::smallint), (1::smallint)) as m(metric)
    where ${conditions} and ${value} is not null`;
}

function sources(f: InteractionFilter, group: SummaryGroup): { counters: SQL; buckets: SQL } {
  const { days, logRanges } = plan(f, group);
  const dims = dimensionConditions(f);
  const counters: SQL[] = [];
  const buckets: SQL[] = [];
  const rows = groupColumn(group, 'rows');
  for (const range of logRanges) {
    const conditions = where([...dims, ...rangeConditions(sql`created_at`, range, sql``)]);
    counters.push(rowCounters(rows, conditions));
    buckets.push(rowBuckets(rows, conditions));
  }
  if (days) {
    const rolled = groupColumn(group, 'rollup');
    const dayConditions = where([
      ...dims,
      ...rangeConditions(sql`day`, days, sql` at time zone 'UTC'`),
    ]);
    // The rollups, and the deltas not yet folded into them (a delete's rows count negative).
    for (const [rollups, histograms] of [
      [ROLLUPS, HISTOGRAMS],
      [PENDING_ROLLUPS, PENDING_HISTOGRAMS],
    ]) {
      counters.push(sql`select ${rolled} as grp, coalesce(upstream_model, model) as price_key,
          ${HIT} as hit, ${SEMANTIC} as sem, status >= 400 as err, requests, prompt_tokens as p,
          completion_tokens as c, tokens_saved_cache as sc, tokens_saved_cache_unsplit as su,
          tokens_saved_cache_completion as scc,
          (case when (${BILLABLE_ROLLUP}) then requests else 0 end) as b,
          tokens_saved_compression as sz, cached_tokens as ct, reasoning_tokens as rt,
          estimated_requests as er, estimated_tokens as et
        from ${rollups} where ${dayConditions}`);
      buckets.push(sql`select ${rolled} as grp, metric, bucket, requests as n
        from ${histograms} where ${dayConditions}`);
    }
  }
  return {
    counters: sql.join(counters, sql` union all `),
    buckets: sql.join(buckets, sql` union all `),
  };
}

/** The price table as a VALUES list named `price(name, input, output)`, to join on a model name. */
export function priceValues(prices: readonly PriceRow[]): SQL {
  // A never-matching row keeps the VALUES list valid when the table is empty.
  const rows = [{ name: '', input: 0, cachedInput: 0, output: 0 }, ...prices].map(
    (p) =>
      sql`(${p.name}::text, ${p.input}::float8, ${p.cachedInput}::float8, ${p.output}::float8)`,
  );
  return sql`(values ${sql.join(rows, sql`, `)}) as price(name, input, cached_input, output)`;
}

function quantile(metric: 0 | 1, q: number): SQL {
  const m = sql.raw(String(metric));
  return sql`tollgate_histogram_quantile(array_agg(bucket order by bucket) filter (where metric = ${m}),
    array_agg(n order by bucket) filter (where metric = ${m}), ${sql.raw(String(q))})`;
}

/**
 * Aggregates the filtered interactions per group and in total: counts, latency and
 * time-to-first-token percentiles, tokens, cache and compression savings, and money estimated from
 * `prices` (looked up by the upstream model, else the requested one). Cache savings are the prompt
 * and completion tokens of cache hits (`hit`, `semantic-hit`); cache hits cost nothing. Prompt
 * tokens the provider served from its own cache cost its cached-input rate; the difference to
 * the input rate is the provider cache's saving.
 *
 * Whole UTC days come from the daily rollups plus their pending deltas, and only the partial days
 * at the ends of the range from the log, so a month costs about as much as a day. Grouping by hour,
 * key or end user, or filtering by key or end user, reads the log. Percentiles are estimated from
 * log-scale histograms (within 4.4% of a value of that rank) the same way on every path, so the
 * answer does not depend on which path served it. Everything is one statement: one snapshot.
 */
export async function summarizeInteractions(
  db: Database,
  filter: InteractionFilter,
  group: SummaryGroup,
  prices: readonly PriceRow[],
): Promise<Summary> {
  const { counters, buckets } = sources(filter, group);
  const isTime = group === 'hour' || group === 'day';
  const groupText = isTime ? sql`to_char(grp, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')` : sql`grp`;
  const order = isTime ? sql`grp asc` : sql`requests desc, grp asc nulls last`;
  const query = sql`
    with counters as (${counters}),
    per_price as (
      select grp, price_key, hit, sem, err, sum(requests)::float8 as requests, sum(p)::float8 as p,
        sum(c)::float8 as c, sum(sc)::float8 as sc, sum(su)::float8 as su,
        sum(scc)::float8 as scc, sum(b)::float8 as b, sum(sz)::float8 as sz,
        sum(ct)::float8 as ct, sum(rt)::float8 as rt, sum(er)::float8 as er,
        sum(et)::float8 as et
      from counters group by 1, 2, 3, 4, 5
    ),
    sums as (
      select grp, grouping(grp) as total,
        sum(requests) as requests,
        coalesce(sum(requests) filter (where err), 0) as errors,
        coalesce(sum(requests) filter (where hit), 0) as cache_hits,
        sum(p) as prompt_tokens,
        sum(c) as completion_tokens,
        coalesce(sum(sc) filter (where hit), 0) as tokens_saved_cache,
        coalesce(sum(requests) filter (where sem), 0) as semantic_hits,
        coalesce(sum(sc) filter (where sem), 0) as tokens_saved_semantic,
        coalesce(sum(${HIT_SAVING_USD}) filter (where sem), 0) as savings_semantic_usd,
        sum(sz) as tokens_saved_compression,
        sum(ct) as cached_tokens,
        sum(rt) as reasoning_tokens,
        sum(er) as usage_estimated_requests,
        sum(et) as usage_estimated_tokens,
        coalesce(sum(((p - ct) * price.input + ct * price.cached_input + c * price.output) / 1e6) filter (where not hit), 0) as estimated_cost_usd,
        coalesce(sum(${HIT_SAVING_USD}) filter (where hit), 0) as savings_cache_usd,
        coalesce(sum(sz * price.input / 1e6), 0) as savings_compression_usd,
        coalesce(sum(ct * (price.input - price.cached_input) / 1e6), 0) as savings_provider_cache_usd,
        coalesce(sum(b) filter (where price.name is null), 0) as unpriced_requests
      from per_price left join ${priceValues(prices)} on price.name = per_price.price_key
      group by grouping sets ((grp), ())
    ),
    buckets as (
      select grp, grouping(grp) as total, metric, bucket, sum(n)::bigint as n
      from (${buckets}) as b
      group by grouping sets ((grp, metric, bucket), (metric, bucket))
      having sum(n) <> 0
    ),
    percentiles as (
      select grp, total, ${quantile(0, 0.5)} as latency_p50_ms, ${quantile(0, 0.95)} as latency_p95_ms,
        ${quantile(1, 0.5)} as ttft_p50_ms, ${quantile(1, 0.95)} as ttft_p95_ms
      from buckets group by grp, total
    ),
    joined as (
      select grp, total, requests, errors, cache_hits, prompt_tokens, completion_tokens,
        tokens_saved_cache, semantic_hits, tokens_saved_semantic, savings_semantic_usd,
        tokens_saved_compression, cached_tokens, reasoning_tokens, usage_estimated_requests,
        usage_estimated_tokens,
        estimated_cost_usd, savings_cache_usd, savings_compression_usd, savings_provider_cache_usd,
        unpriced_requests, null::float8 as latency_p50_ms,
        null::float8 as latency_p95_ms, null::float8 as ttft_p50_ms, null::float8 as ttft_p95_ms
      from sums
      union all
      select grp, total, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, latency_p50_ms, latency_p95_ms, ttft_p50_ms,
        ttft_p95_ms
      from percentiles
    )
    select ${groupText} as grp, total = 1 as is_total,
      coalesce(sum(requests), 0) as requests, coalesce(sum(errors), 0) as errors,
      coalesce(sum(cache_hits), 0) as cache_hits, coalesce(sum(prompt_tokens), 0) as prompt_tokens,
      coalesce(sum(completion_tokens), 0) as completion_tokens,
      coalesce(sum(tokens_saved_cache), 0) as tokens_saved_cache,
      coalesce(sum(semantic_hits), 0) as semantic_hits,
      coalesce(sum(tokens_saved_semantic), 0) as tokens_saved_semantic,
      coalesce(sum(savings_semantic_usd), 0) as savings_semantic_usd,
      coalesce(sum(tokens_saved_compression), 0) as tokens_saved_compression,
      coalesce(sum(cached_tokens), 0) as cached_tokens,
      coalesce(sum(reasoning_tokens), 0) as reasoning_tokens,
      coalesce(sum(usage_estimated_requests), 0) as usage_estimated_requests,
      coalesce(sum(usage_estimated_tokens), 0) as usage_estimated_tokens,
      coalesce(sum(estimated_cost_usd), 0) as estimated_cost_usd,
      coalesce(sum(savings_cache_usd), 0) as savings_cache_usd,
      coalesce(sum(savings_compression_usd), 0) as savings_compression_usd,
      coalesce(sum(savings_provider_cache_usd), 0) as savings_provider_cache_usd,
      coalesce(sum(unpriced_requests), 0) as unpriced_requests,
      max(latency_p50_ms) as latency_p50_ms, max(latency_p95_ms) as latency_p95_ms,
      max(ttft_p50_ms) as ttft_p50_ms, max(ttft_p95_ms) as ttft_p95_ms
    from joined
    group by grp, total
    having total = 1 or coalesce(sum(requests), 0) <> 0
    order by total desc, ${order}`;
  // JIT compilation costs more than the scans it would speed up here.
  const rows = await db.transaction(async (tx) => {
    await tx.execute(sql.raw(`set local work_mem = '${SUMMARY_WORK_MEM}'`));
    await tx.execute(sql.raw('set local jit = off'));
    return selectRows<RawSummaryRow & { is_total: boolean }>(tx, query);
  });
  const total = rows.find((r) => r.is_total);
  return {
    groups: rows.filter((r) => !r.is_total).map((r) => ({ group: r.grp, ...metricsOfRow(r) })),
    totals: total ? metricsOfRow(total) : EMPTY_METRICS,
  };
}
