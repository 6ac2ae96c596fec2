ALTER TABLE "cache_entries" ADD COLUMN "embedding_f32" "bytea";--> statement-breakpoint
ALTER TABLE "cache_entries" ADD COLUMN "written_at" timestamp (3) with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
CREATE INDEX "cache_entries_written_idx" ON "cache_entries" USING btree ("written_at","id");