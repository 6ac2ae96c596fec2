-- The completion part of a cache hit's saving (migration 0018) is counted by the rollups, so it is
-- write-once like the rest of the metadata they count: an update to it alone would leave the
-- rollups (whole days) and the log (partial days, hours, keys) telling two stories.
DROP TRIGGER "interactions_write_once" ON "interactions";
--> statement-breakpoint
CREATE TRIGGER "interactions_write_once" BEFORE UPDATE OF "created_at", "tenant_id", "model",
	"upstream_model", "status", "cache_status", "prompt_tokens", "completion_tokens",
	"tokens_saved_cache", "tokens_saved_cache_completion", "tokens_saved_compression",
	"latency_ms", "ttft_ms", "cached_tokens", "reasoning_tokens" ON "interactions"
	FOR EACH ROW EXECUTE FUNCTION tollgate_interactions_write_once();
