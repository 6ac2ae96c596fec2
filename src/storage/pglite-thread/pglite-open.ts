import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { byteaParsers, byteaSerializers } from './bytea-hex.js';
import { growMemoryFilesGeometrically } from './memfs-growth.js';

/**
 * PostgreSQL's buffer pool inside PGlite's WebAssembly memory. PostgreSQL's default (128 MB) is
 * written at start-up, so it is resident from the first second; the gateway's embedded database
 * reads a small working set (cache entries are served from the main thread's memory) and the
 * operating system's page cache holds the files behind it.
 */
const SHARED_BUFFERS = '16MB';

/**
 * Opens the embedded database as the gateway runs it: in `pgdata` (created there by initdb when
 * new), or in memory when it is null.
 */
export async function openPglite(pgdata: string | null): Promise<PGlite> {
  const options = {
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${SHARED_BUFFERS}`],
    extensions: { vector },
    serializers: byteaSerializers,
    parsers: byteaParsers,
  };
  if (pgdata !== null) return PGlite.create(pgdata, options);
  const pg = await PGlite.create(options);
  growMemoryFilesGeometrically(pg);
  return pg;
}
