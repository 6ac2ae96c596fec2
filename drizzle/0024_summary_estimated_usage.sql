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
