-- How much of a summary's tokens are the gateway's estimate (usage_estimated, migration 0022): the
-- rollups count the rows with estimated usage and their prompt + completion tokens, so a summary
-- over whole days says it as one over the log does.
ALTER TABLE "interaction_rollups_daily" ADD COLUMN "estimated_requests" bigint NOT NULL DEFAULT 0;
--> statement-breakpoint
ALTER TABLE "interaction_rollups_daily" ADD COLUMN "estimated_tokens" bigint NOT NULL DEFAULT 0;
--> statement-breakpoint
ALTER TABLE "interaction_rollup_pending" ADD COLUMN "estimated_requests" bigint NOT NULL DEFAULT 0;
--> statement-breakpoint
ALTER TABLE "interaction_rollup_pending" ADD COLUMN "estimated_tokens" bigint NOT NULL DEFAULT 0;
--> statement-breakpoint
-- As in 0018, with the estimated rows and their tokens.
CREATE OR REPLACE FUNCTION tollgate_rollup_log() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  sign integer := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
  changed text := CASE TG_OP WHEN 'INSERT' THEN 'new_rows' ELSE 'old_rows' END;
BEGIN
  EXECUTE format('INSERT INTO interaction_rollup_pending ("day", "tenant_id", "model",
      "upstream_model", "status", "cache_status", "requests", "prompt_tokens", "completion_tokens",
      "tokens_saved_cache", "tokens_saved_cache_unsplit", "tokens_saved_cache_completion",
      "tokens_saved_compression", "cached_tokens", "reasoning_tokens", "estimated_requests",
      "estimated_tokens")
    SELECT date_trunc(''day'', created_at AT TIME ZONE ''UTC''), tenant_id, model, upstream_model,
      status, cache_status,
      %1$s * count(*),
      %1$s * sum(coalesce(prompt_tokens, 0)),
      %1$s * sum(coalesce(completion_tokens, 0)),
      %1$s * sum(coalesce(tokens_saved_cache, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0))),
      %1$s * sum(CASE WHEN prompt_tokens IS NULL AND completion_tokens IS NULL THEN coalesce(tokens_saved_cache, 0) ELSE 0 END),
      %1$s * sum(CASE WHEN prompt_tokens IS NULL AND completion_tokens IS NULL THEN least(coalesce(tokens_saved_cache_completion, 0), coalesce(tokens_saved_cache, 0)) ELSE 0 END),
      %1$s * sum(coalesce(tokens_saved_compression, 0)),
      %1$s * sum(coalesce(cached_tokens, 0)),
      %1$s * sum(coalesce(reasoning_tokens, 0)),
      %1$s * count(*) FILTER (WHERE usage_estimated),
      %1$s * coalesce(sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)) FILTER (WHERE usage_estimated), 0)
    FROM %2$I GROUP BY 1, 2, 3, 4, 5, 6', sign, changed);
  EXECUTE format('INSERT INTO interaction_histogram_pending ("day", "tenant_id", "model",
      "upstream_model", "status", "cache_status", "metric", "bucket", "requests")
    SELECT date_trunc(''day'', created_at AT TIME ZONE ''UTC''), tenant_id, model, upstream_model,
      status, cache_status, m.metric,
      tollgate_latency_bucket(CASE m.metric WHEN 0 THEN latency_ms ELSE ttft_ms END),
      %1$s * count(*)
    FROM %2$I CROSS JOIN (VALUES (0::smallint), (1::smallint)) AS m(metric)
    WHERE CASE m.metric WHEN 0 THEN latency_ms ELSE ttft_ms END IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8', sign, changed);
  RETURN NULL;
END $$;
--> statement-breakpoint
-- As in 0018, folding the estimated rows and their tokens too.
CREATE OR REPLACE FUNCTION tollgate_fold_rollup_deltas(batch integer, OUT moved integer, OUT folded bigint)
LANGUAGE plpgsql AS $$
DECLARE
  counters_moved integer;
  buckets_moved integer;
  removed boolean;
  buckets_removed boolean;
BEGIN
  WITH taken AS (
    DELETE FROM interaction_rollup_pending WHERE ctid = ANY (ARRAY(
      SELECT ctid FROM interaction_rollup_pending LIMIT batch FOR UPDATE SKIP LOCKED))
    RETURNING *
  ),
  sums AS (
    INSERT INTO interaction_rollups_daily AS r ("day", "tenant_id", "model", "upstream_model",
      "status", "cache_status", "requests", "prompt_tokens", "completion_tokens",
      "tokens_saved_cache", "tokens_saved_cache_unsplit", "tokens_saved_cache_completion",
      "tokens_saved_compression", "cached_tokens", "reasoning_tokens", "estimated_requests",
      "estimated_tokens")
    SELECT day, tenant_id, model, upstream_model, status, cache_status, sum(requests),
      sum(prompt_tokens), sum(completion_tokens), sum(tokens_saved_cache),
      sum(tokens_saved_cache_unsplit), sum(tokens_saved_cache_completion),
      sum(tokens_saved_compression), sum(cached_tokens), sum(reasoning_tokens),
      sum(estimated_requests), sum(estimated_tokens)
    FROM taken
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT ("day", "tenant_id", "model", "upstream_model", "status", "cache_status") DO UPDATE SET
      requests = r.requests + excluded.requests,
      prompt_tokens = r.prompt_tokens + excluded.prompt_tokens,
      completion_tokens = r.completion_tokens + excluded.completion_tokens,
      tokens_saved_cache = r.tokens_saved_cache + excluded.tokens_saved_cache,
      tokens_saved_cache_unsplit = r.tokens_saved_cache_unsplit + excluded.tokens_saved_cache_unsplit,
      tokens_saved_cache_completion = r.tokens_saved_cache_completion + excluded.tokens_saved_cache_completion,
      tokens_saved_compression = r.tokens_saved_compression + excluded.tokens_saved_compression,
      cached_tokens = r.cached_tokens + excluded.cached_tokens,
      reasoning_tokens = r.reasoning_tokens + excluded.reasoning_tokens,
      estimated_requests = r.estimated_requests + excluded.estimated_requests,
      estimated_tokens = r.estimated_tokens + excluded.estimated_tokens
    RETURNING 1
  )
  SELECT count(*), coalesce(sum(abs(requests)), 0), coalesce(bool_or(requests < 0), false)
    INTO counters_moved, folded, removed FROM taken;
  WITH taken AS (
    DELETE FROM interaction_histogram_pending WHERE ctid = ANY (ARRAY(
      SELECT ctid FROM interaction_histogram_pending LIMIT batch FOR UPDATE SKIP LOCKED))
    RETURNING *
  ),
  sums AS (
    INSERT INTO interaction_histograms_daily AS h ("day", "tenant_id", "model", "upstream_model",
      "status", "cache_status", "metric", "bucket", "requests")
    SELECT day, tenant_id, model, upstream_model, status, cache_status, metric, bucket, sum(requests)
    FROM taken
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT ("day", "tenant_id", "model", "upstream_model", "status", "cache_status", "metric", "bucket")
    DO UPDATE SET requests = h.requests + excluded.requests
    RETURNING 1
  )
  SELECT count(*), coalesce(bool_or(requests < 0), false)
    INTO buckets_moved, buckets_removed FROM taken;
  moved := greatest(counters_moved, buckets_moved);
  -- Deleted rows (retention) leave empty rollups behind: drop them.
  IF removed THEN
    DELETE FROM interaction_rollups_daily WHERE requests = 0;
  END IF;
  IF buckets_removed THEN
    DELETE FROM interaction_histograms_daily WHERE requests = 0;
  END IF;
END $$;
--> statement-breakpoint
-- The rows recorded with estimated usage before this migration, as deltas of no requests: each
-- row is already counted (in the rollups or their deltas), only its estimate is added.
INSERT INTO interaction_rollup_pending ("day", "tenant_id", "model", "upstream_model", "status",
  "cache_status", "requests", "prompt_tokens", "completion_tokens", "tokens_saved_cache",
  "tokens_saved_cache_unsplit", "tokens_saved_cache_completion", "tokens_saved_compression",
  "cached_tokens", "reasoning_tokens", "estimated_requests", "estimated_tokens")
SELECT date_trunc('day', created_at AT TIME ZONE 'UTC'), tenant_id, model, upstream_model, status,
  cache_status, 0, 0, 0, 0, 0, 0, 0, 0, 0, count(*),
  sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0))
FROM interactions WHERE usage_estimated
GROUP BY 1, 2, 3, 4, 5, 6;
--> statement-breakpoint
-- Analysts' views, replaced in place (the same columns first, so grants stay), with the estimated
-- rows and their tokens as the summary reports them.
CREATE OR REPLACE VIEW "interaction_stats_daily" AS
WITH parts AS (
	SELECT tenant_id, day, model, upstream_model, status, cache_status, NULL::smallint AS metric,
		NULL::smallint AS bucket, requests, prompt_tokens, completion_tokens, tokens_saved_cache,
		tokens_saved_cache_unsplit, tokens_saved_cache_completion, tokens_saved_compression,
		cached_tokens, reasoning_tokens, estimated_requests, estimated_tokens
	FROM interaction_rollups_daily
	UNION ALL
	SELECT tenant_id, day, model, upstream_model, status, cache_status, NULL, NULL, requests,
		prompt_tokens, completion_tokens, tokens_saved_cache, tokens_saved_cache_unsplit,
		tokens_saved_cache_completion, tokens_saved_compression, cached_tokens, reasoning_tokens,
		estimated_requests, estimated_tokens
	FROM interaction_rollup_pending
	UNION ALL
	SELECT tenant_id, day, model, upstream_model, status, cache_status, metric, bucket, requests,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0
	FROM interaction_histograms_daily
	UNION ALL
	SELECT tenant_id, day, model, upstream_model, status, cache_status, metric, bucket, requests,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0
	FROM interaction_histogram_pending
),
priced AS (
	SELECT parts.*, coalesce(cache_status IN ('hit', 'semantic-hit'), false) AS hit,
		price.name IS NOT NULL AS is_priced, price.input_per_mtok_usd AS pin,
		price.cached_input_per_mtok_usd AS pcached, price.output_per_mtok_usd AS pout,
		status < 400 OR prompt_tokens <> 0 OR completion_tokens <> 0 OR tokens_saved_cache <> 0
			OR tokens_saved_compression <> 0 AS billable
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
	coalesce(sum(requests) FILTER (WHERE metric IS NULL AND NOT is_priced AND billable), 0)::bigint AS unpriced_requests,
	coalesce(sum(((prompt_tokens - cached_tokens) * pin + cached_tokens * pcached + completion_tokens * pout) / 1e6) FILTER (WHERE metric IS NULL AND NOT hit), 0)::float8 AS estimated_cost_usd,
	coalesce(sum(((prompt_tokens + tokens_saved_cache_unsplit - tokens_saved_cache_completion) * pin + (completion_tokens + tokens_saved_cache_completion) * pout) / 1e6) FILTER (WHERE metric IS NULL AND hit), 0)::float8 AS savings_cache_usd,
	coalesce(sum(tokens_saved_compression * pin / 1e6) FILTER (WHERE metric IS NULL), 0)::float8 AS savings_compression_usd,
	coalesce(sum(cached_tokens * (pin - pcached) / 1e6) FILTER (WHERE metric IS NULL), 0)::float8 AS savings_provider_cache_usd,
	coalesce(sum(estimated_requests) FILTER (WHERE metric IS NULL), 0)::bigint AS usage_estimated_requests,
	coalesce(sum(estimated_tokens) FILTER (WHERE metric IS NULL), 0)::bigint AS usage_estimated_tokens
FROM priced
GROUP BY 1, 2, 3
HAVING sum(requests) FILTER (WHERE metric IS NULL) > 0;
--> statement-breakpoint
CREATE OR REPLACE VIEW "interaction_stats_hourly" AS
WITH priced AS (
	SELECT i.*, coalesce(i.cache_status IN ('hit', 'semantic-hit'), false) AS hit,
		price.name IS NOT NULL AS is_priced, price.input_per_mtok_usd AS pin,
		price.cached_input_per_mtok_usd AS pcached, price.output_per_mtok_usd AS pout,
		CASE WHEN i.prompt_tokens IS NULL AND i.completion_tokens IS NULL THEN coalesce(i.tokens_saved_cache, 0) ELSE 0 END AS unsplit,
		CASE WHEN i.prompt_tokens IS NULL AND i.completion_tokens IS NULL THEN least(coalesce(i.tokens_saved_cache_completion, 0), coalesce(i.tokens_saved_cache, 0)) ELSE 0 END AS unsplit_completion,
		i.status < 400 OR coalesce(i.prompt_tokens, 0) <> 0 OR coalesce(i.completion_tokens, 0) <> 0
			OR coalesce(i.tokens_saved_cache, 0) <> 0 OR coalesce(i.tokens_saved_compression, 0) <> 0 AS billable
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
	count(*) FILTER (WHERE NOT is_priced AND billable) AS unpriced_requests,
	coalesce(sum(((coalesce(prompt_tokens, 0) - coalesce(cached_tokens, 0)) * pin + coalesce(cached_tokens, 0) * pcached + coalesce(completion_tokens, 0) * pout) / 1e6) FILTER (WHERE NOT hit), 0)::float8 AS estimated_cost_usd,
	coalesce(sum(((coalesce(prompt_tokens, 0) + unsplit - unsplit_completion) * pin + (coalesce(completion_tokens, 0) + unsplit_completion) * pout) / 1e6) FILTER (WHERE hit), 0)::float8 AS savings_cache_usd,
	coalesce(sum(coalesce(tokens_saved_compression, 0) * pin / 1e6), 0)::float8 AS savings_compression_usd,
	coalesce(sum(coalesce(cached_tokens, 0) * (pin - pcached) / 1e6), 0)::float8 AS savings_provider_cache_usd,
	count(*) FILTER (WHERE usage_estimated) AS usage_estimated_requests,
	coalesce(sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)) FILTER (WHERE usage_estimated), 0) AS usage_estimated_tokens
FROM priced
GROUP BY 1, 2, 3;
