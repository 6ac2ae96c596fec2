import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { growMemoryFilesGeometrically } from '../../src/storage/pglite-thread/memfs-growth.js';

interface FileNode {
  contents: Uint8Array;
  usedBytes: number;
}

/**
 * Grows a file of an in-memory PGlite 400 times by one 8 KB page through ftruncate, the way
 * PostgreSQL's fallocate extends a table; returns how many times its storage was reallocated.
 */
function reallocationsWhileGrowing(
  pg: PGlite,
  path: string,
): { reallocations: number; node: FileNode } {
  const fs = pg.Module.FS;
  fs.writeFile(path, new Uint8Array([1, 2, 3]));
  const node = fs.lookupPath(path, {}).node as unknown as FileNode;
  let reallocations = 0;
  let storage = node.contents;
  for (let i = 1; i <= 400; i++) {
    fs.truncate(path, i * 8192);
    if (node.contents !== storage) reallocations++;
    storage = node.contents;
  }
  return { reallocations, node };
}

describe('in-memory PGlite file growth', () => {
  let pg: PGlite;
  beforeAll(async () => {
    pg = await PGlite.create();
  });
  afterAll(async () => {
    await pg.close();
  });

  it('reallocates on every extension as shipped, geometrically once adjusted, keeping the bytes', () => {
    expect(reallocationsWhileGrowing(pg, '/tmp/before').reallocations).toBe(400);

    expect(growMemoryFilesGeometrically(pg)).toBe(true);
    const { reallocations, node } = reallocationsWhileGrowing(pg, '/tmp/after');
    expect(reallocations).toBeLessThan(40);
    expect(node.usedBytes).toBe(400 * 8192);
    expect(pg.Module.FS.stat('/tmp/after').size).toBe(400 * 8192);
    const bytes: Uint8Array = pg.Module.FS.readFile('/tmp/after');
    expect([...bytes.subarray(0, 4)]).toEqual([1, 2, 3, 0]);
    expect(bytes.subarray(3).every((b) => b === 0)).toBe(true);

    pg.Module.FS.truncate('/tmp/after', 10);
    expect(pg.Module.FS.readFile('/tmp/after')).toEqual(
      new Uint8Array([1, 2, 3, 0, 0, 0, 0, 0, 0, 0]),
    );
  });

  it('still runs the database: a table grown by multi-page COPY reads back whole', async () => {
    await pg.exec('create table t (id int, b bytea)');
    const lines = Array.from({ length: 2000 }, (_, i) => `${i}\t\\\\x${'ab'.repeat(600)}`).join(
      '\n',
    );
    await pg.query(`copy t from '/dev/blob'`, [], { blob: new Blob([`${lines}\n`]) });
    const result = await pg.query<{ n: number; bytes: number }>(
      'select count(*)::int as n, sum(length(b))::int as bytes from t',
    );
    expect(result.rows[0]).toEqual({ n: 2000, bytes: 2000 * 600 });
  });
});
