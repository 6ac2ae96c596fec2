ALTER TABLE "interactions" ADD COLUMN "usage_estimated" boolean DEFAULT false NOT NULL;
--> statement-breakpoint
-- Whether the token counts are the provider's or the gateway's estimate belongs with the counts:
-- write-once like them.
DROP TRIGGER "interactions_write_once" ON "interactions";
--> statement-breakpoint
CREATE TRIGGER "interactions_write_once" BEFORE UPDATE OF "created_at", "tenant_id", "model",
	"upstream_model", "status", "cache_status", "prompt_tokens", "completion_tokens",
	"tokens_saved_cache", "tokens_saved_cache_completion", "tokens_saved_compression",
	"latency_ms", "ttft_ms", "cached_tokens", "reasoning_tokens", "usage_estimated" ON "interactions"
	FOR EACH ROW EXECUTE FUNCTION tollgate_interactions_write_once();
