CREATE TABLE "cache_entries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"scope_hash" text NOT NULL,
	"exact_hash" text NOT NULL,
	"embedder" text,
	"response_enc" "bytea" NOT NULL,
	"question_enc" "bytea",
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"hits" integer DEFAULT 0 NOT NULL,
	"last_hit_at" timestamp with time zone,
	"size" integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "cache_enabled" boolean DEFAULT true;--> statement-breakpoint
ALTER TABLE "interactions" ADD COLUMN "tokens_saved_cache" integer;--> statement-breakpoint
CREATE UNIQUE INDEX "cache_entries_tenant_exact_key" ON "cache_entries" USING btree ("tenant_id","exact_hash");--> statement-breakpoint
CREATE INDEX "cache_entries_tenant_scope_idx" ON "cache_entries" USING btree ("tenant_id","scope_hash");--> statement-breakpoint
CREATE INDEX "cache_entries_expires_idx" ON "cache_entries" USING btree ("expires_at");