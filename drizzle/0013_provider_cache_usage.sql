CREATE TABLE "model_prices" (
	"name" text PRIMARY KEY NOT NULL,
	"input_per_mtok_usd" double precision NOT NULL,
	"cached_input_per_mtok_usd" double precision NOT NULL,
	"output_per_mtok_usd" double precision NOT NULL,
	"as_of" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "interactions" ADD COLUMN "cached_tokens" integer;--> statement-breakpoint
ALTER TABLE "interactions" ADD COLUMN "reasoning_tokens" integer;--> statement-breakpoint
-- Provider prompt-cache and reasoning tokens in the daily rollups, their pending deltas and the
-- analysts' views (recreated below with money columns priced from model_prices).
ALTER TABLE "interaction_rollups_daily" ADD COLUMN "cached_tokens" bigint NOT NULL DEFAULT 0;
--> statement-breakpoint
ALTER TABLE "interaction_rollups_daily" ADD COLUMN "reasoning_tokens" bigint NOT NULL DEFAULT 0;
--> statement-breakpoint
ALTER TABLE "interaction_rollup_pending" ADD COLUMN "cached_tokens" integer;
--> statement-breakpoint
ALTER TABLE "interaction_rollup_pending" ADD COLUMN "reasoning_tokens" integer;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION tollgate_rollup_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('INSERT INTO interaction_rollup_pending ("sign", "created_at", "tenant_id",
      "model", "upstream_model", "status", "cache_status", "prompt_tokens", "completion_tokens",
      "tokens_saved_cache", "tokens_saved_compression", "latency_ms", "ttft_ms", "cached_tokens",
      "reasoning_tokens")
    SELECT %s, created_at, tenant_id, model, upstream_model, status, cache_status, prompt_tokens,
      completion_tokens, tokens_saved_cache, tokens_saved_compression, latency_ms, ttft_ms,
      cached_tokens, reasoning_tokens
    FROM %I', CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END,
    CASE TG_OP WHEN 'INSERT' THEN 'new_rows' ELSE 'old_rows' END);
  RETURN NULL;
END $$;
--> statement-breakpoint
DROP TRIGGER "interactions_write_once" ON "interactions";
--> statement-breakpoint
CREATE TRIGGER "interactions_write_once" BEFORE UPDATE OF "created_at", "tenant_id", "model",
	"upstream_model", "status", "cache_status", "prompt_tokens", "completion_tokens",
	"tokens_saved_cache", "tokens_saved_compression", "latency_ms", "ttft_ms", "cached_tokens",
	"reasoning_tokens" ON "interactions"
	FOR EACH ROW EXECUTE FUNCTION tollgate_interactions_write_once();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION tollgate_roll_up_pending(batch integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  folded integer;
  removed integer;
BEGIN
  WITH moved AS (
    DELETE FROM interaction_rollup_pending WHERE ctid = ANY (ARRAY(
      SELECT ctid FROM interaction_rollup_pending LIMIT batch FOR UPDATE SKIP LOCKED))
    RETURNING *
  ),
  sums AS (
    INSERT INTO interaction_rollups_daily AS r ("day", "tenant_id", "model", "upstream_model",
      "status", "cache_status", "requests", "prompt_tokens", "completion_tokens",
      "tokens_saved_cache", "tokens_saved_cache_unsplit", "tokens_saved_compression",
      "cached_tokens", "reasoning_tokens")
    SELECT date_trunc('day', created_at AT TIME ZONE 'UTC'), tenant_id, model, upstream_model,
      status, cache_status,
      sum(sign),
      sum(sign * coalesce(prompt_tokens, 0)),
      sum(sign * coalesce(completion_tokens, 0)),
      sum(sign * coalesce(tokens_saved_cache, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0))),
      sum(sign * CASE WHEN prompt_tokens IS NULL AND completion_tokens IS NULL THEN coalesce(tokens_saved_cache, 0) ELSE 0 END),
      sum(sign * coalesce(tokens_saved_compression, 0)),
      sum(sign * coalesce(cached_tokens, 0)),
      sum(sign * coalesce(reasoning_tokens, 0))
    FROM moved
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT ("day", "tenant_id", "model", "upstream_model", "status", "cache_status") DO UPDATE SET
      requests = r.requests + excluded.requests,
      prompt_tokens = r.prompt_tokens + excluded.prompt_tokens,
      completion_tokens = r.completion_tokens + excluded.completion_tokens,
      tokens_saved_cache = r.tokens_saved_cache + excluded.tokens_saved_cache,
      tokens_saved_cache_unsplit = r.tokens_saved_cache_unsplit + excluded.tokens_saved_cache_unsplit,
      tokens_saved_compression = r.tokens_saved_compression + excluded.tokens_saved_compression,
      cached_tokens = r.cached_tokens + excluded.cached_tokens,
      reasoning_tokens = r.reasoning_tokens + excluded.reasoning_tokens
    RETURNING 1
  ),
  hist AS (
    INSERT INTO interaction_histograms_daily AS h ("day", "tenant_id", "model", "upstream_model",
      "status", "cache_status", "metric", "bucket", "requests")
    SELECT date_trunc('day', created_at AT TIME ZONE 'UTC'), tenant_id, model, upstream_model,
      status, cache_status, m.metric,
      tollgate_latency_bucket(CASE m.metric WHEN 0 THEN latency_ms ELSE ttft_ms END), sum(sign)
    FROM moved CROSS JOIN (VALUES (0::smallint), (1::smallint)) AS m(metric)
    WHERE CASE m.metric WHEN 0 THEN latency_ms ELSE ttft_ms END IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT ("day", "tenant_id", "model", "upstream_model", "status", "cache_status", "metric", "bucket")
    DO UPDATE SET requests = h.requests + excluded.requests
    RETURNING 1
  )
  SELECT count(*), count(*) FILTER (WHERE sign < 0) INTO folded, removed FROM moved;
  -- Deleted rows (retention) leave empty rollups behind: drop them.
  IF removed > 0 THEN
    DELETE FROM interaction_rollups_daily WHERE requests = 0;
    DELETE FROM interaction_histograms_daily WHERE requests = 0;
  END IF;
  RETURN folded;
END $$;
--> statement-breakpoint
DROP VIEW "interaction_stats_daily";
--> statement-breakpoint
DROP VIEW "interaction_stats_hourly";
--> statement-breakpoint
-- Analysts' views: the same numbers as GET /analytics/summary (group_by=day or hour, per model),
-- per tenant, UTC time bucket and requested model. Money is priced from model_prices (the
-- gateway's price table, written at start-up) by the upstream model, else the requested one;
-- requests of an unpriced model are counted in unpriced_requests and left out of every money
-- column. The savings come in four kinds: Tollgate's cache (exact and semantic hits), compression,
-- and the provider's prompt cache (cached_tokens billed at the cached-input rate). The daily view
-- reads the rollups plus the pending deltas; the hourly one reads the log itself. Grant with
-- `tollgate analysts grant <role>`: the views run with their owner's rights.
CREATE VIEW "interaction_stats_daily" AS
WITH parts AS (
	SELECT tenant_id, day, model, upstream_model, status, cache_status, NULL::smallint AS metric,
		NULL::smallint AS bucket, requests, prompt_tokens, completion_tokens, tokens_saved_cache,
		tokens_saved_cache_unsplit, tokens_saved_compression, cached_tokens, reasoning_tokens
	FROM interaction_rollups_daily
	UNION ALL
	SELECT tenant_id, day, model, upstream_model, status, cache_status, metric, bucket, requests,
		0, 0, 0, 0, 0, 0, 0
	FROM interaction_histograms_daily
	UNION ALL
	SELECT tenant_id, date_trunc('day', created_at AT TIME ZONE 'UTC'), model, upstream_model, status,
		cache_status, NULL, NULL, sign, sign * coalesce(prompt_tokens, 0),
		sign * coalesce(completion_tokens, 0),
		sign * coalesce(tokens_saved_cache, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)),
		sign * CASE WHEN prompt_tokens IS NULL AND completion_tokens IS NULL THEN coalesce(tokens_saved_cache, 0) ELSE 0 END,
		sign * coalesce(tokens_saved_compression, 0), sign * coalesce(cached_tokens, 0),
		sign * coalesce(reasoning_tokens, 0)
	FROM interaction_rollup_pending
	UNION ALL
	SELECT tenant_id, date_trunc('day', created_at AT TIME ZONE 'UTC'), model, upstream_model, status,
		cache_status, m.metric, tollgate_latency_bucket(CASE m.metric WHEN 0 THEN latency_ms ELSE ttft_ms END),
		sign, 0, 0, 0, 0, 0, 0, 0
	FROM interaction_rollup_pending CROSS JOIN (VALUES (0::smallint), (1::smallint)) AS m(metric)
	WHERE CASE m.metric WHEN 0 THEN latency_ms ELSE ttft_ms END IS NOT NULL
),
priced AS (
	SELECT parts.*, coalesce(cache_status IN ('hit', 'semantic-hit'), false) AS hit,
		price.name IS NOT NULL AS is_priced, price.input_per_mtok_usd AS pin,
		price.cached_input_per_mtok_usd AS pcached, price.output_per_mtok_usd AS pout
	FROM parts LEFT JOIN model_prices AS price ON price.name = coalesce(parts.upstream_model, parts.model)
)
SELECT tenant_id, day, model,
	sum(requests) FILTER (WHERE metric IS NULL)::bigint AS requests,
	coalesce(sum(requests) FILTER (WHERE metric IS NULL AND status >= 400), 0)::bigint AS errors,
	coalesce(sum(requests) FILTER (WHERE metric IS NULL AND hit), 0)::bigint AS cache_hits,
	sum(prompt_tokens)::bigint AS prompt_tokens,
	sum(completion_tokens)::bigint AS completion_tokens,
	coalesce(sum(tokens_saved_cache) FILTER (WHERE hit), 0)::bigint AS tokens_saved_cache,
	sum(tokens_saved_compression)::bigint AS tokens_saved_compression,
	sum(cached_tokens)::bigint AS cached_tokens,
	sum(reasoning_tokens)::bigint AS reasoning_tokens,
	tollgate_histogram_quantile(array_agg(bucket ORDER BY bucket) FILTER (WHERE metric = 0), array_agg(requests::bigint ORDER BY bucket) FILTER (WHERE metric = 0), 0.5) AS latency_p50_ms,
	tollgate_histogram_quantile(array_agg(bucket ORDER BY bucket) FILTER (WHERE metric = 0), array_agg(requests::bigint ORDER BY bucket) FILTER (WHERE metric = 0), 0.95) AS latency_p95_ms,
	tollgate_histogram_quantile(array_agg(bucket ORDER BY bucket) FILTER (WHERE metric = 1), array_agg(requests::bigint ORDER BY bucket) FILTER (WHERE metric = 1), 0.5) AS ttft_p50_ms,
	tollgate_histogram_quantile(array_agg(bucket ORDER BY bucket) FILTER (WHERE metric = 1), array_agg(requests::bigint ORDER BY bucket) FILTER (WHERE metric = 1), 0.95) AS ttft_p95_ms,
	coalesce(sum(requests) FILTER (WHERE metric IS NULL AND NOT is_priced), 0)::bigint AS unpriced_requests,
	coalesce(sum(((prompt_tokens - cached_tokens) * pin + cached_tokens * pcached + completion_tokens * pout) / 1e6) FILTER (WHERE metric IS NULL AND NOT hit), 0)::float8 AS estimated_cost_usd,
	coalesce(sum(((prompt_tokens + tokens_saved_cache_unsplit) * pin + completion_tokens * pout) / 1e6) FILTER (WHERE metric IS NULL AND hit), 0)::float8 AS savings_cache_usd,
	coalesce(sum(tokens_saved_compression * pin / 1e6) FILTER (WHERE metric IS NULL), 0)::float8 AS savings_compression_usd,
	coalesce(sum(cached_tokens * (pin - pcached) / 1e6) FILTER (WHERE metric IS NULL), 0)::float8 AS savings_provider_cache_usd
FROM priced
GROUP BY 1, 2, 3
HAVING sum(requests) FILTER (WHERE metric IS NULL) > 0;
--> statement-breakpoint
CREATE VIEW "interaction_stats_hourly" AS
WITH priced AS (
	SELECT i.*, coalesce(i.cache_status IN ('hit', 'semantic-hit'), false) AS hit,
		price.name IS NOT NULL AS is_priced, price.input_per_mtok_usd AS pin,
		price.cached_input_per_mtok_usd AS pcached, price.output_per_mtok_usd AS pout,
		CASE WHEN i.prompt_tokens IS NULL AND i.completion_tokens IS NULL THEN coalesce(i.tokens_saved_cache, 0) ELSE 0 END AS unsplit
	FROM interactions AS i LEFT JOIN model_prices AS price ON price.name = coalesce(i.upstream_model, i.model)
)
SELECT tenant_id, date_trunc('hour', created_at AT TIME ZONE 'UTC') AS hour, model,
	count(*) AS requests,
	count(*) FILTER (WHERE status >= 400) AS errors,
	count(*) FILTER (WHERE hit) AS cache_hits,
	coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
	coalesce(sum(completion_tokens), 0) AS completion_tokens,
	coalesce(sum(coalesce(tokens_saved_cache, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0))) FILTER (WHERE hit), 0) AS tokens_saved_cache,
	coalesce(sum(tokens_saved_compression), 0) AS tokens_saved_compression,
	coalesce(sum(cached_tokens), 0) AS cached_tokens,
	coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens,
	-- One entry per row, in bucket order: the histogram function adds up repeated buckets.
	tollgate_histogram_quantile(array_agg(tollgate_latency_bucket(latency_ms) ORDER BY latency_ms) FILTER (WHERE latency_ms IS NOT NULL), array_agg(1::bigint ORDER BY latency_ms) FILTER (WHERE latency_ms IS NOT NULL), 0.5) AS latency_p50_ms,
	tollgate_histogram_quantile(array_agg(tollgate_latency_bucket(latency_ms) ORDER BY latency_ms) FILTER (WHERE latency_ms IS NOT NULL), array_agg(1::bigint ORDER BY latency_ms) FILTER (WHERE latency_ms IS NOT NULL), 0.95) AS latency_p95_ms,
	tollgate_histogram_quantile(array_agg(tollgate_latency_bucket(ttft_ms) ORDER BY ttft_ms) FILTER (WHERE ttft_ms IS NOT NULL), array_agg(1::bigint ORDER BY ttft_ms) FILTER (WHERE ttft_ms IS NOT NULL), 0.5) AS ttft_p50_ms,
	tollgate_histogram_quantile(array_agg(tollgate_latency_bucket(ttft_ms) ORDER BY ttft_ms) FILTER (WHERE ttft_ms IS NOT NULL), array_agg(1::bigint ORDER BY ttft_ms) FILTER (WHERE ttft_ms IS NOT NULL), 0.95) AS ttft_p95_ms,
	count(*) FILTER (WHERE NOT is_priced) AS unpriced_requests,
	coalesce(sum(((coalesce(prompt_tokens, 0) - coalesce(cached_tokens, 0)) * pin + coalesce(cached_tokens, 0) * pcached + coalesce(completion_tokens, 0) * pout) / 1e6) FILTER (WHERE NOT hit), 0)::float8 AS estimated_cost_usd,
	coalesce(sum(((coalesce(prompt_tokens, 0) + unsplit) * pin + coalesce(completion_tokens, 0) * pout) / 1e6) FILTER (WHERE hit), 0)::float8 AS savings_cache_usd,
	coalesce(sum(coalesce(tokens_saved_compression, 0) * pin / 1e6), 0)::float8 AS savings_compression_usd,
	coalesce(sum(coalesce(cached_tokens, 0) * (pin - pcached) / 1e6), 0)::float8 AS savings_provider_cache_usd
FROM priced
GROUP BY 1, 2, 3;
