CREATE TABLE "audit_log" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"actor" text NOT NULL,
	"tenant_id" text,
	"action" text NOT NULL,
	"target_type" text,
	"target_id" text,
	"details" jsonb
);
--> statement-breakpoint
CREATE TABLE "interactions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"tenant_id" text NOT NULL,
	"key_id" text NOT NULL,
	"end_user" text,
	"model" text,
	"upstream_model" text,
	"provider" text,
	"status" integer NOT NULL,
	"error_code" text,
	"cache_status" text,
	"cache_similarity" real,
	"stream" boolean DEFAULT false NOT NULL,
	"prompt_tokens" integer,
	"completion_tokens" integer,
	"tokens_saved_compression" integer,
	"latency_ms" real NOT NULL,
	"upstream_ms" real,
	"ttft_ms" real,
	"request_enc" "bytea",
	"response_enc" "bytea"
);
--> statement-breakpoint
CREATE INDEX "audit_log_created_idx" ON "audit_log" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "audit_log_tenant_idx" ON "audit_log" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "interactions_tenant_created_idx" ON "interactions" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "interactions_created_idx" ON "interactions" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "interactions_key_created_idx" ON "interactions" USING btree ("key_id","created_at");