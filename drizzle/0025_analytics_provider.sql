-- The provider (interactions.provider: the configured upstream a row's answer came from) as a
-- dimension of the daily rollups and their pending deltas, so a summary grouped or filtered by
-- provider reads whole days from the rollups as one by model does.
--
-- The rollups are rebuilt from the log (they held every provider's rows under one key): one read
-- of interactions, during which writes to it wait (an instance of an earlier version still running
-- queues its rows and writes them after, counted by the new trigger). The rebuilt rollups hold
-- exactly what the old ones and their pending deltas summed to, split by provider.
LOCK TABLE "interactions" IN SHARE MODE;
--> statement-breakpoint
ALTER TABLE "interaction_rollups_daily" ADD COLUMN "provider" text;
--> statement-breakpoint
ALTER TABLE "interaction_histograms_daily" ADD COLUMN "provider" text;
--> statement-breakpoint
ALTER TABLE "interaction_rollup_pending" ADD COLUMN "provider" text;
--> statement-breakpoint
ALTER TABLE "interaction_histogram_pending" ADD COLUMN "provider" text;
--> statement-breakpoint
TRUNCATE "interaction_rollups_daily", "interaction_histograms_daily", "interaction_rollup_pending",
	"interaction_histogram_pending";
--> statement-breakpoint
DROP INDEX "interaction_rollups_daily_key";
--> statement-breakpoint
CREATE UNIQUE INDEX "interaction_rollups_daily_key" ON "interaction_rollups_daily"
	("day", "tenant_id", "model", "upstream_model", "status", "cache_status", "provider") NULLS NOT DISTINCT;
--> statement-breakpoint
DROP INDEX "interaction_histograms_daily_key";
--> statement-breakpoint
CREATE UNIQUE INDEX "interaction_histograms_daily_key" ON "interaction_histograms_daily"
	("day", "tenant_id", "model", "upstream_model", "status", "cache_status", "provider", "metric", "bucket") NULLS NOT DISTINCT;
--> statement-breakpoint
-- As in 0024, per provider too.
CREATE OR REPLACE FUNCTION tollgate_rollup_log() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  sign integer := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
  changed text := CASE TG_OP WHEN 'INSERT' THEN 'new_rows' ELSE 'old_rows' END;
BEGIN
  EXECUTE format('INSERT INTO interaction_rollup_pending ("day", "tenant_id", "model",
      "upstream_model", "status", "cache_status", "provider", "requests", "prompt_tokens",
      "completion_tokens", "tokens_saved_cache", "tokens_saved_cache_unsplit",
      "tokens_saved_cache_completion", "tokens_saved_compression", "cached_tokens",
      "reasoning_tokens", "estimated_requests", "estimated_tokens")
    SELECT date_trunc(''day'', created_at AT TIME ZONE ''UTC''), tenant_id, model, upstream_model,
      status, cache_status, provider,
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
    FROM %2$I GROUP BY 1, 2, 3, 4, 5, 6, 7', sign, changed);
  EXECUTE format('INSERT INTO interaction_histogram_pending ("day", "tenant_id", "model",
      "upstream_model", "status", "cache_status", "provider", "metric", "bucket", "requests")
    SELECT date_trunc(''day'', created_at AT TIME ZONE ''UTC''), tenant_id, model, upstream_model,
      status, cache_status, provider, m.metric,
      tollgate_latency_bucket(CASE m.metric WHEN 0 THEN latency_ms ELSE ttft_ms END),
      %1$s * count(*)
    FROM %2$I CROSS JOIN (VALUES (0::smallint), (1::smallint)) AS m(metric)
    WHERE CASE m.metric WHEN 0 THEN latency_ms ELSE ttft_ms END IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9', sign, changed);
  RETURN NULL;
END $$;
--> statement-breakpoint
-- As in 0024, per provider too.
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
      "status", "cache_status", "provider", "requests", "prompt_tokens", "completion_tokens",
      "tokens_saved_cache", "tokens_saved_cache_unsplit", "tokens_saved_cache_completion",
      "tokens_saved_compression", "cached_tokens", "reasoning_tokens", "estimated_requests",
      "estimated_tokens")
    SELECT day, tenant_id, model, upstream_model, status, cache_status, provider, sum(requests),
      sum(prompt_tokens), sum(completion_tokens), sum(tokens_saved_cache),
      sum(tokens_saved_cache_unsplit), sum(tokens_saved_cache_completion),
      sum(tokens_saved_compression), sum(cached_tokens), sum(reasoning_tokens),
      sum(estimated_requests), sum(estimated_tokens)
    FROM taken
    GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT ("day", "tenant_id", "model", "upstream_model", "status", "cache_status", "provider") DO UPDATE SET
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
      "status", "cache_status", "provider", "metric", "bucket", "requests")
    SELECT day, tenant_id, model, upstream_model, status, cache_status, provider, metric, bucket,
      sum(requests)
    FROM taken
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    ON CONFLICT ("day", "tenant_id", "model", "upstream_model", "status", "cache_status", "provider", "metric", "bucket")
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
-- The rows recorded before this migration, per day and dimensions, as the trigger counts them.
INSERT INTO interaction_rollups_daily ("day", "tenant_id", "model", "upstream_model", "status",
  "cache_status", "provider", "requests", "prompt_tokens", "completion_tokens",
  "tokens_saved_cache", "tokens_saved_cache_unsplit", "tokens_saved_cache_completion",
  "tokens_saved_compression", "cached_tokens", "reasoning_tokens", "estimated_requests",
  "estimated_tokens")
SELECT date_trunc('day', created_at AT TIME ZONE 'UTC'), tenant_id, model, upstream_model, status,
  cache_status, provider,
  count(*),
  sum(coalesce(prompt_tokens, 0)),
  sum(coalesce(completion_tokens, 0)),
  sum(coalesce(tokens_saved_cache, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0))),
  sum(CASE WHEN prompt_tokens IS NULL AND completion_tokens IS NULL THEN coalesce(tokens_saved_cache, 0) ELSE 0 END),
  sum(CASE WHEN prompt_tokens IS NULL AND completion_tokens IS NULL THEN least(coalesce(tokens_saved_cache_completion, 0), coalesce(tokens_saved_cache, 0)) ELSE 0 END),
  sum(coalesce(tokens_saved_compression, 0)),
  sum(coalesce(cached_tokens, 0)),
  sum(coalesce(reasoning_tokens, 0)),
  count(*) FILTER (WHERE usage_estimated),
  coalesce(sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)) FILTER (WHERE usage_estimated), 0)
FROM interactions
GROUP BY 1, 2, 3, 4, 5, 6, 7;
--> statement-breakpoint
INSERT INTO interaction_histograms_daily ("day", "tenant_id", "model", "upstream_model", "status",
  "cache_status", "provider", "metric", "bucket", "requests")
SELECT date_trunc('day', created_at AT TIME ZONE 'UTC'), tenant_id, model, upstream_model, status,
  cache_status, provider, m.metric,
  tollgate_latency_bucket(CASE m.metric WHEN 0 THEN latency_ms ELSE ttft_ms END), count(*)
FROM interactions CROSS JOIN (VALUES (0::smallint), (1::smallint)) AS m(metric)
WHERE CASE m.metric WHEN 0 THEN latency_ms ELSE ttft_ms END IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
--> statement-breakpoint
-- The provider is counted by the rollups: write-once like the rest of the metadata they count.
DROP TRIGGER "interactions_write_once" ON "interactions";
--> statement-breakpoint
CREATE TRIGGER "interactions_write_once" BEFORE UPDATE OF "created_at", "tenant_id", "model",
	"upstream_model", "status", "cache_status", "provider", "prompt_tokens", "completion_tokens",
	"tokens_saved_cache", "tokens_saved_cache_completion", "tokens_saved_compression",
	"latency_ms", "ttft_ms", "cached_tokens", "reasoning_tokens", "usage_estimated" ON "interactions"
	FOR EACH ROW EXECUTE FUNCTION tollgate_interactions_write_once();
