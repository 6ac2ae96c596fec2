-- The semantic cache's vectors. pgvector may be missing on a PostgreSQL server (0000 installs it
-- only where available); there the column is not created and the gateway caches exactly only.
-- The column has no fixed dimension because the upstream embedder's length depends on its model.
-- No approximate (HNSW/ivfflat) index: a semantic lookup is always filtered to one scope, and an
-- approximate index filtered afterwards can drop the in-scope neighbour; the scope's rows are
-- found by cache_entries_tenant_scope_idx and ranked exactly, which is both correct and small.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_type WHERE typname = 'vector') THEN
    ALTER TABLE "cache_entries" ADD COLUMN IF NOT EXISTS "embedding" vector;
  END IF;
END
$$;
