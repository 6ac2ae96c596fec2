-- Daily rollups of the interaction log, so a month of analytics reads thousands of rows instead of
-- millions. Maintained by the database itself: statement triggers append every inserted (+1) and
-- deleted (-1) row to interaction_rollup_pending, a small delta log that the gateway folds into
-- the rollups every few seconds (tollgate_roll_up_pending). Readers add the pending deltas to the
-- rollups, so every answer is exact at all times, whenever the fold last ran.
--
-- Percentiles come from log-scale histograms: 16 buckets per doubling above 0.1 ms, so any
-- estimate lies within 4.4% (2^(1/16) - 1) of the exact value of the same rank.

CREATE FUNCTION tollgate_latency_bucket(ms float8) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN ms IS NULL THEN NULL WHEN ms <= 0.1 THEN 0
  ELSE least(floor(ln(ms / 0.1) * 16 / ln(2)) + 1, 1000)::smallint END;
--> statement-breakpoint
-- The k-th smallest value (0-based) of a histogram whose buckets are sorted ascending (a bucket may
-- repeat; its counts add up): the bucket holding it, then its place inside the bucket on the log
-- scale.
CREATE FUNCTION tollgate_histogram_rank(buckets smallint[], counts bigint[], k float8) RETURNS float8
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  seen bigint := 0;
  n integer := coalesce(cardinality(counts), 0);
  i integer := 1;
  b smallint;
  c bigint;
BEGIN
  WHILE i <= n LOOP
    b := buckets[i];
    c := 0;
    WHILE i <= n AND buckets[i] = b LOOP
      c := c + counts[i];
      i := i + 1;
    END LOOP;
    IF c > 0 AND seen + c > k THEN
      IF b = 0 THEN RETURN 0.1; END IF;
      RETURN 0.1 * power(2, (b - 1 + (k - seen + 0.5) / c) / 16.0);
    END IF;
    seen := seen + greatest(c, 0);
  END LOOP;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- percentile_cont over a histogram: the same interpolation between the two neighbouring ranks.
CREATE FUNCTION tollgate_histogram_quantile(buckets smallint[], counts bigint[], q float8) RETURNS float8
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  total bigint := 0;
  i integer;
  r float8;
  lo float8;
  hi float8;
BEGIN
  FOR i IN 1 .. coalesce(cardinality(counts), 0) LOOP
    total := total + counts[i];
  END LOOP;
  IF total = 0 THEN RETURN NULL; END IF;
  r := q * (total - 1);
  lo := tollgate_histogram_rank(buckets, counts, floor(r));
  hi := CASE WHEN floor(r) = r THEN lo ELSE tollgate_histogram_rank(buckets, counts, floor(r) + 1) END;
  RETURN round((lo + (r - floor(r)) * (hi - lo))::numeric, 3)::float8;
END $$;
--> statement-breakpoint
CREATE TABLE "interaction_rollups_daily" (
	"tenant_id" text NOT NULL,
	"day" timestamp NOT NULL,
	"model" text,
	"upstream_model" text,
	"status" integer NOT NULL,
	"cache_status" text,
	"requests" bigint NOT NULL,
	"prompt_tokens" bigint NOT NULL,
	"completion_tokens" bigint NOT NULL,
	-- Per row coalesce(tokens_saved_cache, prompt + completion): what a cache hit saved.
	"tokens_saved_cache" bigint NOT NULL,
	-- The same, for rows with no prompt/completion split (priced at the input rate).
	"tokens_saved_cache_unsplit" bigint NOT NULL,
	"tokens_saved_compression" bigint NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "interaction_rollups_daily_key" ON "interaction_rollups_daily"
	("day", "tenant_id", "model", "upstream_model", "status", "cache_status") NULLS NOT DISTINCT;
--> statement-breakpoint
CREATE TABLE "interaction_histograms_daily" (
	"tenant_id" text NOT NULL,
	"day" timestamp NOT NULL,
	"model" text,
	"upstream_model" text,
	"status" integer NOT NULL,
	"cache_status" text,
	-- 0 = latency_ms, 1 = ttft_ms
	"metric" smallint NOT NULL,
	"bucket" smallint NOT NULL,
	"requests" bigint NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "interaction_histograms_daily_key" ON "interaction_histograms_daily"
	("day", "tenant_id", "model", "upstream_model", "status", "cache_status", "metric", "bucket") NULLS NOT DISTINCT;
--> statement-breakpoint
CREATE TABLE "interaction_rollup_pending" (
	"sign" smallint NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"tenant_id" text NOT NULL,
	"model" text,
	"upstream_model" text,
	"status" integer NOT NULL,
	"cache_status" text,
	"prompt_tokens" integer,
	"completion_tokens" integer,
	"tokens_saved_cache" integer,
	"tokens_saved_compression" integer,
	"latency_ms" real,
	"ttft_ms" real
);
--> statement-breakpoint
-- Appends the statement's inserted (+1) or deleted (-1) rows to the pending deltas.
CREATE FUNCTION tollgate_rollup_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('INSERT INTO interaction_rollup_pending
    SELECT %s, created_at, tenant_id, model, upstream_model, status, cache_status, prompt_tokens,
      completion_tokens, tokens_saved_cache, tokens_saved_compression, latency_ms, ttft_ms
    FROM %I', CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END,
    CASE TG_OP WHEN 'INSERT' THEN 'new_rows' ELSE 'old_rows' END);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION tollgate_rollup_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE interaction_rollups_daily, interaction_histograms_daily, interaction_rollup_pending;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- The metadata the rollups count is write-once; only the ciphertext columns may change (retention).
CREATE FUNCTION tollgate_interactions_write_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'interaction metadata is write-once: delete and insert the row instead';
END $$;
--> statement-breakpoint
CREATE TRIGGER "interactions_rollup_insert" AFTER INSERT ON "interactions"
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_rollup_log();
--> statement-breakpoint
CREATE TRIGGER "interactions_rollup_delete" AFTER DELETE ON "interactions"
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_rollup_log();
--> statement-breakpoint
CREATE TRIGGER "interactions_rollup_truncate" AFTER TRUNCATE ON "interactions"
	FOR EACH STATEMENT EXECUTE FUNCTION tollgate_rollup_truncate();
--> statement-breakpoint
CREATE TRIGGER "interactions_write_once" BEFORE UPDATE OF "created_at", "tenant_id", "model",
	"upstream_model", "status", "cache_status", "prompt_tokens", "completion_tokens",
	"tokens_saved_cache", "tokens_saved_compression", "latency_ms", "ttft_ms" ON "interactions"
	FOR EACH ROW EXECUTE FUNCTION tollgate_interactions_write_once();
--> statement-breakpoint
-- Folds up to `batch` pending deltas into the rollups; returns how many it folded. Concurrent
-- callers take disjoint rows (SKIP LOCKED) and upsert in one key order, so they never deadlock.
CREATE FUNCTION tollgate_roll_up_pending(batch integer) RETURNS integer LANGUAGE plpgsql AS $$
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
      "tokens_saved_cache", "tokens_saved_cache_unsplit", "tokens_saved_compression")
    SELECT date_trunc('day', created_at AT TIME ZONE 'UTC'), tenant_id, model, upstream_model,
      status, cache_status,
      sum(sign),
      sum(sign * coalesce(prompt_tokens, 0)),
      sum(sign * coalesce(completion_tokens, 0)),
      sum(sign * coalesce(tokens_saved_cache, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0))),
      sum(sign * CASE WHEN prompt_tokens IS NULL AND completion_tokens IS NULL THEN coalesce(tokens_saved_cache, 0) ELSE 0 END),
      sum(sign * coalesce(tokens_saved_compression, 0))
    FROM moved
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT ("day", "tenant_id", "model", "upstream_model", "status", "cache_status") DO UPDATE SET
      requests = r.requests + excluded.requests,
      prompt_tokens = r.prompt_tokens + excluded.prompt_tokens,
      completion_tokens = r.completion_tokens + excluded.completion_tokens,
      tokens_saved_cache = r.tokens_saved_cache + excluded.tokens_saved_cache,
      tokens_saved_cache_unsplit = r.tokens_saved_cache_unsplit + excluded.tokens_saved_cache_unsplit,
      tokens_saved_compression = r.tokens_saved_compression + excluded.tokens_saved_compression
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
-- Rows logged before this migration.
INSERT INTO "interaction_rollup_pending"
SELECT 1, created_at, tenant_id, model, upstream_model, status, cache_status, prompt_tokens,
	completion_tokens, tokens_saved_cache, tokens_saved_compression, latency_ms, ttft_ms
FROM "interactions";
--> statement-breakpoint
SELECT tollgate_roll_up_pending(2147483647);
--> statement-breakpoint
DROP VIEW "interaction_stats_daily";
--> statement-breakpoint
DROP VIEW "interaction_stats_hourly";
--> statement-breakpoint
-- Analysts' views: the same numbers as GET /analytics/summary (group_by=day or hour, per model),
-- per tenant, UTC time bucket and requested model. The daily view reads the rollups plus the
-- pending deltas; the hourly one reads the log itself. Grant with `tollgate analysts grant <role>`:
-- the views run with their owner's rights, so the role needs no access to the tables underneath.
CREATE VIEW "interaction_stats_daily" AS
WITH parts AS (
	SELECT tenant_id, day, model, status, cache_status, NULL::smallint AS metric, NULL::smallint AS bucket,
		requests, prompt_tokens, completion_tokens, tokens_saved_cache, tokens_saved_compression
	FROM interaction_rollups_daily
	UNION ALL
	SELECT tenant_id, day, model, status, cache_status, metric, bucket, requests, 0, 0, 0, 0
	FROM interaction_histograms_daily
	UNION ALL
	SELECT tenant_id, date_trunc('day', created_at AT TIME ZONE 'UTC'), model, status, cache_status,
		NULL, NULL, sign, sign * coalesce(prompt_tokens, 0), sign * coalesce(completion_tokens, 0),
		sign * coalesce(tokens_saved_cache, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)),
		sign * coalesce(tokens_saved_compression, 0)
	FROM interaction_rollup_pending
	UNION ALL
	SELECT tenant_id, date_trunc('day', created_at AT TIME ZONE 'UTC'), model, status, cache_status,
		m.metric, tollgate_latency_bucket(CASE m.metric WHEN 0 THEN latency_ms ELSE ttft_ms END), sign, 0, 0, 0, 0
	FROM interaction_rollup_pending CROSS JOIN (VALUES (0::smallint), (1::smallint)) AS m(metric)
	WHERE CASE m.metric WHEN 0 THEN latency_ms ELSE ttft_ms END IS NOT NULL
)
SELECT tenant_id, day, model,
	sum(requests) FILTER (WHERE metric IS NULL)::bigint AS requests,
	coalesce(sum(requests) FILTER (WHERE metric IS NULL AND status >= 400), 0)::bigint AS errors,
	coalesce(sum(requests) FILTER (WHERE metric IS NULL AND cache_status IN ('hit', 'semantic-hit')), 0)::bigint AS cache_hits,
	sum(prompt_tokens)::bigint AS prompt_tokens,
	sum(completion_tokens)::bigint AS completion_tokens,
	coalesce(sum(tokens_saved_cache) FILTER (WHERE cache_status IN ('hit', 'semantic-hit')), 0)::bigint AS tokens_saved_cache,
	sum(tokens_saved_compression)::bigint AS tokens_saved_compression,
	tollgate_histogram_quantile(array_agg(bucket ORDER BY bucket) FILTER (WHERE metric = 0), array_agg(requests::bigint ORDER BY bucket) FILTER (WHERE metric = 0), 0.5) AS latency_p50_ms,
	tollgate_histogram_quantile(array_agg(bucket ORDER BY bucket) FILTER (WHERE metric = 0), array_agg(requests::bigint ORDER BY bucket) FILTER (WHERE metric = 0), 0.95) AS latency_p95_ms,
	tollgate_histogram_quantile(array_agg(bucket ORDER BY bucket) FILTER (WHERE metric = 1), array_agg(requests::bigint ORDER BY bucket) FILTER (WHERE metric = 1), 0.5) AS ttft_p50_ms,
	tollgate_histogram_quantile(array_agg(bucket ORDER BY bucket) FILTER (WHERE metric = 1), array_agg(requests::bigint ORDER BY bucket) FILTER (WHERE metric = 1), 0.95) AS ttft_p95_ms
FROM parts
GROUP BY 1, 2, 3
HAVING sum(requests) FILTER (WHERE metric IS NULL) > 0;
--> statement-breakpoint
CREATE VIEW "interaction_stats_hourly" AS
SELECT tenant_id, date_trunc('hour', created_at AT TIME ZONE 'UTC') AS hour, model,
	count(*) AS requests,
	count(*) FILTER (WHERE status >= 400) AS errors,
	count(*) FILTER (WHERE cache_status IN ('hit', 'semantic-hit')) AS cache_hits,
	coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
	coalesce(sum(completion_tokens), 0) AS completion_tokens,
	coalesce(sum(coalesce(tokens_saved_cache, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0))) FILTER (WHERE cache_status IN ('hit', 'semantic-hit')), 0) AS tokens_saved_cache,
	coalesce(sum(tokens_saved_compression), 0) AS tokens_saved_compression,
	-- One entry per row, in bucket order: the histogram function adds up repeated buckets.
	tollgate_histogram_quantile(array_agg(tollgate_latency_bucket(latency_ms) ORDER BY latency_ms) FILTER (WHERE latency_ms IS NOT NULL), array_agg(1::bigint ORDER BY latency_ms) FILTER (WHERE latency_ms IS NOT NULL), 0.5) AS latency_p50_ms,
	tollgate_histogram_quantile(array_agg(tollgate_latency_bucket(latency_ms) ORDER BY latency_ms) FILTER (WHERE latency_ms IS NOT NULL), array_agg(1::bigint ORDER BY latency_ms) FILTER (WHERE latency_ms IS NOT NULL), 0.95) AS latency_p95_ms,
	tollgate_histogram_quantile(array_agg(tollgate_latency_bucket(ttft_ms) ORDER BY ttft_ms) FILTER (WHERE ttft_ms IS NOT NULL), array_agg(1::bigint ORDER BY ttft_ms) FILTER (WHERE ttft_ms IS NOT NULL), 0.5) AS ttft_p50_ms,
	tollgate_histogram_quantile(array_agg(tollgate_latency_bucket(ttft_ms) ORDER BY ttft_ms) FILTER (WHERE ttft_ms IS NOT NULL), array_agg(1::bigint ORDER BY ttft_ms) FILTER (WHERE ttft_ms IS NOT NULL), 0.95) AS ttft_p95_ms
FROM interactions
GROUP BY 1, 2, 3;
