ALTER TABLE "interactions" ADD COLUMN "endpoint" text;--> statement-breakpoint
ALTER TABLE "interactions" ADD COLUMN "client_request_id" text;--> statement-breakpoint
CREATE INDEX "interactions_client_request_idx" ON "interactions" USING btree ("tenant_id","client_request_id");