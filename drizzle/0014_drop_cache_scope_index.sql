-- The cache lookup runs in memory (the in-memory index is read at start-up and kept in step by
-- sync, which pages by written_at): no query reads entries by scope, so this index only cost
-- every entry write and delete its upkeep.
DROP INDEX "cache_entries_tenant_scope_idx";