import type { PGlite } from '@electric-sql/pglite';

/** The parts of Emscripten's in-memory file system that size a file's storage. */
interface MemfsFile {
  contents: unknown;
  usedBytes: number;
}
interface Memfs {
  resizeFileStorage?: (node: MemfsFile, size: number) => void;
  expandFileStorage?: (node: MemfsFile, capacity: number) => void;
}

/**
 * Makes an in-memory (memory://) PGlite grow its files geometrically when PostgreSQL extends them.
 *
 * PostgreSQL extends a table by several pages at once (COPY and other multi-row inserts) with
 * posix_fallocate, which Emscripten's in-memory file system turns into an exact-size
 * reallocation that copies the whole file: each batch then costs time in proportion to the table
 * (a 40,000-row table took 10× longer per row than an empty one). Writes already grow files the
 * geometric way (expandFileStorage); this sends growth by fallocate/ftruncate the same way, with
 * the new bytes zeroed as before. Shrinking is unchanged. Files on disk (a data directory) never
 * go through this. Returns false, changing nothing, if the file system is not the one expected.
 */
export function growMemoryFilesGeometrically(pg: PGlite): boolean {
  const memfs = pg.Module.FS.filesystems.MEMFS as unknown as Memfs;
  const exact = memfs.resizeFileStorage;
  const expand = memfs.expandFileStorage;
  if (typeof exact !== 'function' || typeof expand !== 'function') return false;
  memfs.resizeFileStorage = function resize(node, size) {
    if (node.contents instanceof Uint8Array && size > node.usedBytes) {
      expand.call(this, node, size);
      (node.contents as Uint8Array).fill(0, node.usedBytes, size);
      node.usedBytes = size;
      return;
    }
    exact.call(this, node, size);
  };
  return true;
}
