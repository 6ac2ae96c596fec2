-- Most requests name no client request id and join no session: these two indexes held an entry
-- for every such row, an index insert per row for nothing. Partial, they hold only rows with a
-- value; every query on them asks for one (an equality, or session_id is not null), which
-- implies the predicate. Rebuilding them reads the table once.
DROP INDEX "interactions_client_request_idx";--> statement-breakpoint
DROP INDEX "interactions_session_idx";--> statement-breakpoint
CREATE INDEX "interactions_client_request_idx" ON "interactions" USING btree ("tenant_id","client_request_id") WHERE "interactions"."client_request_id" is not null;--> statement-breakpoint
CREATE INDEX "interactions_session_idx" ON "interactions" USING btree ("tenant_id","session_id","created_at") WHERE "interactions"."session_id" is not null;