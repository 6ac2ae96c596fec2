ALTER TABLE "tenants" ADD COLUMN "rpm" integer;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "tpm" integer;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "max_concurrency" integer;