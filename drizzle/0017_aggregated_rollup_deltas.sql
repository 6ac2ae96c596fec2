-- The rollups' pending deltas, aggregated per statement. The triggers on interactions appended one
-- pending row per inserted or deleted row, which the fold then read, summed and deleted: a second
-- insert and a later delete for every interaction. Now each statement appends its rows already
-- summed, in the rollups' own shape: one counters row per day and dimensions
-- (interaction_rollup_pending, like interaction_rollups_daily) and one row per histogram bucket
-- (interaction_histogram_pending, like interaction_histograms_daily); a statement of 500 rows of
-- one model, hits and misses, latencies over a decade, leaves 2 counter rows and 183 buckets.
-- Readers add the pending rows to the rollups as before, so every number stays exact whenever the
-- fold last ran.
--
-- What is pending in the old shape is folded first, with the old function; the old table goes once
-- the analysts' view reads the new ones (replaced, not dropped, so its grants stay).
SELECT tollgate_roll_up_pending(2147483647);
--> statement-breakpoint
ALTER TABLE "interaction_rollup_pending" RENAME TO "interaction_rollup_pending_0016";
--> statement-breakpoint
-- In the rollups' own shapes; the counters' requests and sums are signed (a delete's rows count
-- negative).
CREATE TABLE "interaction_rollup_pending" (LIKE "interaction_rollups_daily");
--> statement-breakpoint
CREATE TABLE "interaction_histogram_pending" (LIKE "interaction_histograms_daily");
--> statement-breakpoint
-- Appends the statement's inserted (+) or deleted (-) rows, summed per day, dimensions and bucket.
CREATE OR REPLACE FUNCTION tollgate_rollup_log() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  sign integer := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
  changed text := CASE TG_OP WHEN 'INSERT' THEN 'new_rows' ELSE 'old_rows' END;
BEGIN
  EXECUTE format('INSERT INTO interaction_rollup_pending ("day", "tenant_id", "model",
      "upstream_model", "status", "cache_status", "requests", "prompt_tokens", "completion_tokens",
      "tokens_saved_cache", "tokens_saved_cache_unsplit", "tokens_saved_compression",
      "cached_tokens", "reasoning_tokens")
    SELECT date_trunc(''day'', created_at AT TIME ZONE ''UTC''), tenant_id, model, upstream_model,
      status, cache_status,
      %1$s * count(*),
      %1$s * sum(coalesce(prompt_tokens, 0)),
      %1$s * sum(coalesce(completion_tokens, 0)),
      %1$s * sum(coalesce(tokens_saved_cache, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0))),
      %1$s * sum(CASE WHEN prompt_tokens IS NULL AND completion_tokens IS NULL THEN coalesce(tokens_saved_cache, 0) ELSE 0 END),
      %1$s * sum(coalesce(tokens_saved_compression, 0)),
      %1$s * sum(coalesce(cached_tokens, 0)),
      %1$s * sum(coalesce(reasoning_tokens, 0))
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
CREATE OR REPLACE FUNCTION tollgate_rollup_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE interaction_rollups_daily, interaction_histograms_daily, interaction_rollup_pending,
    interaction_histogram_pending;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- Folds at most `batch` pending rows of each table into the rollups. `moved`: the most rows taken
-- from one table (below `batch`: both were emptied, but for rows another fold holds); `folded`:
-- the interactions those counters rows stood for (a delete's counted too). Safe to run from
-- several gateways at once: each statement takes disjoint rows.
CREATE FUNCTION tollgate_fold_rollup_deltas(batch integer, OUT moved integer, OUT folded bigint)
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
      "tokens_saved_cache", "tokens_saved_cache_unsplit", "tokens_saved_compression",
      "cached_tokens", "reasoning_tokens")
    SELECT day, tenant_id, model, upstream_model, status, cache_status, sum(requests),
      sum(prompt_tokens), sum(completion_tokens), sum(tokens_saved_cache),
      sum(tokens_saved_cache_unsplit), sum(tokens_saved_compression), sum(cached_tokens),
      sum(reasoning_tokens)
    FROM taken
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
-- The previous version's fold, for gateways of that version still running beside a newer one: one
-- fold of the new deltas, answering the interactions folded (it stops on an answer below `batch`;
-- whatever it leaves, the next fold takes).
CREATE OR REPLACE FUNCTION tollgate_roll_up_pending(batch integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  folded bigint;
BEGIN
  SELECT f.folded INTO folded FROM tollgate_fold_rollup_deltas(batch) AS f;
  RETURN least(folded, 2147483647)::integer;
END $$;
--> statement-breakpoint
-- Analysts' view, as in 0013 (the same columns), reading the pending deltas in the rollups' shape.
CREATE OR REPLACE VIEW "interaction_stats_daily" AS
WITH parts AS (
	SELECT tenant_id, day, model, upstream_model, status, cache_status, NULL::smallint AS metric,
		NULL::smallint AS bucket, requests, prompt_tokens, completion_tokens, tokens_saved_cache,
		tokens_saved_cache_unsplit, tokens_saved_compression, cached_tokens, reasoning_tokens
	FROM interaction_rollups_daily
	UNION ALL
	SELECT tenant_id, day, model, upstream_model, status, cache_status, NULL, NULL, requests,
		prompt_tokens, completion_tokens, tokens_saved_cache, tokens_saved_cache_unsplit,
		tokens_saved_compression, cached_tokens, reasoning_tokens
	FROM interaction_rollup_pending
	UNION ALL
	SELECT tenant_id, day, model, upstream_model, status, cache_status, metric, bucket, requests,
		0, 0, 0, 0, 0, 0, 0
	FROM interaction_histograms_daily
	UNION ALL
	SELECT tenant_id, day, model, upstream_model, status, cache_status, metric, bucket, requests,
		0, 0, 0, 0, 0, 0, 0
	FROM interaction_histogram_pending
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
DROP TABLE "interaction_rollup_pending_0016";
