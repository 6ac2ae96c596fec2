-- A vector that is mostly zeros (the local embedder's: ~60 of 512 components) is stored as its
-- nonzero components only, a quarter of the dense form's 2 KB, in a column of its own: an
-- instance of an earlier version sharing the database reads such a row as one without a vector
-- (matched exactly only) instead of misreading it.
ALTER TABLE "cache_entries" ADD COLUMN "embedding_sparse" "bytea";
