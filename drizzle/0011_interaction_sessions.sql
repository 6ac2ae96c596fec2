ALTER TABLE "interactions" ADD COLUMN "session_id" text;--> statement-breakpoint
CREATE INDEX "interactions_session_idx" ON "interactions" USING btree ("tenant_id","session_id","created_at");