CREATE TABLE "conversation_items" (
	"conversation_id" text NOT NULL,
	"position" integer NOT NULL,
	"tenant_id" text NOT NULL,
	"item_id" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"item_enc" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "conversations" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"metadata_enc" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stored_response_items" (
	"response_id" text NOT NULL,
	"position" integer NOT NULL,
	"tenant_id" text NOT NULL,
	"item_id" text NOT NULL,
	"item_enc" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stored_responses" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"key_id" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"previous_response_id" text,
	"conversation_id" text,
	"session_id" text NOT NULL,
	"status" text NOT NULL,
	"response_enc" "bytea" NOT NULL,
	"input_enc" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "conversation_items_key" ON "conversation_items" USING btree ("conversation_id","position");--> statement-breakpoint
CREATE INDEX "conversation_items_item_idx" ON "conversation_items" USING btree ("tenant_id","item_id");--> statement-breakpoint
CREATE INDEX "conversation_items_created_idx" ON "conversation_items" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "conversations_tenant_idx" ON "conversations" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "conversations_created_idx" ON "conversations" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "stored_response_items_key" ON "stored_response_items" USING btree ("response_id","position");--> statement-breakpoint
CREATE INDEX "stored_response_items_item_idx" ON "stored_response_items" USING btree ("tenant_id","item_id");--> statement-breakpoint
CREATE INDEX "stored_responses_tenant_idx" ON "stored_responses" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "stored_responses_created_idx" ON "stored_responses" USING btree ("created_at");