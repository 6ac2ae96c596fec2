ALTER TABLE "api_keys" ADD COLUMN "compression" text;--> statement-breakpoint
ALTER TABLE "interactions" ADD COLUMN "compression_mode" text;--> statement-breakpoint
ALTER TABLE "interactions" ADD COLUMN "prompt_tokens_before_compression" integer;