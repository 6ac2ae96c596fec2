CREATE TABLE "cache_flushes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"flushed_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "cache_flushes_flushed_idx" ON "cache_flushes" USING btree ("flushed_at");