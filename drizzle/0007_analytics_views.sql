-- Analysts' views: the same numbers as GET /analytics/summary, per tenant, time bucket (UTC) and
-- requested model. Cache savings = each hit's cached answer total (tokens_saved_cache).
-- Grant them with `tollgate analysts grant <role>`; the views run with their owner's rights, so the
-- role needs no access to the tables underneath.
CREATE VIEW "interaction_stats_daily" AS
SELECT
	"tenant_id",
	date_trunc('day', "created_at" AT TIME ZONE 'UTC') AS "day",
	"model",
	count(*) AS "requests",
	count(*) FILTER (WHERE "status" >= 400) AS "errors",
	count(*) FILTER (WHERE "cache_status" IN ('hit', 'semantic-hit')) AS "cache_hits",
	coalesce(sum("prompt_tokens"), 0) AS "prompt_tokens",
	coalesce(sum("completion_tokens"), 0) AS "completion_tokens",
	coalesce(sum(coalesce("tokens_saved_cache", coalesce("prompt_tokens", 0) + coalesce("completion_tokens", 0))) FILTER (WHERE "cache_status" IN ('hit', 'semantic-hit')), 0) AS "tokens_saved_cache",
	coalesce(sum("tokens_saved_compression"), 0) AS "tokens_saved_compression",
	percentile_cont(0.5) WITHIN GROUP (ORDER BY "latency_ms") AS "latency_p50_ms",
	percentile_cont(0.95) WITHIN GROUP (ORDER BY "latency_ms") AS "latency_p95_ms",
	percentile_cont(0.5) WITHIN GROUP (ORDER BY "ttft_ms") AS "ttft_p50_ms",
	percentile_cont(0.95) WITHIN GROUP (ORDER BY "ttft_ms") AS "ttft_p95_ms"
FROM "interactions"
GROUP BY 1, 2, 3;
--> statement-breakpoint
CREATE VIEW "interaction_stats_hourly" AS
SELECT
	"tenant_id",
	date_trunc('hour', "created_at" AT TIME ZONE 'UTC') AS "hour",
	"model",
	count(*) AS "requests",
	count(*) FILTER (WHERE "status" >= 400) AS "errors",
	count(*) FILTER (WHERE "cache_status" IN ('hit', 'semantic-hit')) AS "cache_hits",
	coalesce(sum("prompt_tokens"), 0) AS "prompt_tokens",
	coalesce(sum("completion_tokens"), 0) AS "completion_tokens",
	coalesce(sum(coalesce("tokens_saved_cache", coalesce("prompt_tokens", 0) + coalesce("completion_tokens", 0))) FILTER (WHERE "cache_status" IN ('hit', 'semantic-hit')), 0) AS "tokens_saved_cache",
	coalesce(sum("tokens_saved_compression"), 0) AS "tokens_saved_compression",
	percentile_cont(0.5) WITHIN GROUP (ORDER BY "latency_ms") AS "latency_p50_ms",
	percentile_cont(0.95) WITHIN GROUP (ORDER BY "latency_ms") AS "latency_p95_ms",
	percentile_cont(0.5) WITHIN GROUP (ORDER BY "ttft_ms") AS "ttft_p50_ms",
	percentile_cont(0.95) WITHIN GROUP (ORDER BY "ttft_ms") AS "ttft_p95_ms"
FROM "interactions"
GROUP BY 1, 2, 3;
