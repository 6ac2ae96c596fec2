-- pgvector powers the semantic cache. PGlite ships it; a PostgreSQL server may not have it
-- installed, in which case the gateway keeps exact caching only, so the extension is optional.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
    CREATE EXTENSION IF NOT EXISTS vector;
  END IF;
END
$$;
