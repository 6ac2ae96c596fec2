import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/runtime/uuidv7.js';
import type { CopyFrom } from '../../src/storage/database.js';
import type { NewCacheEntry } from '../../src/storage/queries/cache-entries.js';
import { copyCacheEntries, recordCacheHits } from '../../src/storage/queries/cache-entries.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { rowsOf } from '../../src/storage/rows-of.js';
import { sqlStateOf } from '../../src/storage/sql-state.js';
import { cacheEntryRow } from '../helpers/cache-entry-row.js';
import { migratedDatabaseOn, storageDrivers } from '../helpers/test-database.js';

const NOW = Date.UTC(2030, 0, 1);

describe.each(storageDrivers())('cache entries by binary COPY on $name', (driver) => {
  const database = migratedDatabaseOn(driver);
  const copyFrom = (): CopyFrom => database().copyFrom;
  let tenantId: string;

  /** An entry with every byte column set, as a semantic entry has them. */
  function entry(exactHash: string, overrides: Partial<NewCacheEntry> = {}): NewCacheEntry {
    return cacheEntryRow(tenantId, exactHash, NOW, {
      responseEnc: randomBytes(900),
      questionEnc: randomBytes(40),
      embeddingSparse: randomBytes(64),
      size: 1000,
      ...overrides,
    });
  }

  /** The stored entries, as a reader sees them, by exact key. */
  async function stored(): Promise<Record<string, unknown>[]> {
    const result = await database().db.execute(sql`
      select id, exact_hash, scope_hash, embedder, response_enc, question_enc, embedding_f32,
        embedding_sparse, (extract(epoch from created_at) * 1000)::float8 as created_ms,
        (extract(epoch from expires_at) * 1000)::float8 as expires_ms, size, hits,
        last_hit_at is null as unhit
      from cache_entries order by exact_hash`);
    return rowsOf<Record<string, unknown>>(result).map((row) => {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(row)) {
        out[key] = value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value;
      }
      return out;
    });
  }

  beforeAll(async () => {
    tenantId = (await insertTenant(database().db, 'copy')).id;
  });

  beforeEach(async () => {
    await database().db.execute(sql`delete from cache_entries`);
  });

  /** An entry as a reader sees it once stored, with `hits` counted. */
  function asStored(e: NewCacheEntry, hits = 0): Record<string, unknown> {
    const hex = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('hex') : null);
    return {
      id: e.id,
      exact_hash: e.exactHash,
      scope_hash: e.scopeHash,
      embedder: e.embedder ?? null,
      response_enc: hex(e.responseEnc),
      question_enc: hex(e.questionEnc),
      embedding_f32: hex(e.embeddingF32),
      embedding_sparse: hex(e.embeddingSparse),
      created_ms: e.createdAt.getTime(),
      expires_ms: e.expiresAt.getTime(),
      size: e.size,
      hits,
      unhit: hits === 0,
    };
  }

  it('stores every field of each entry, an entry replacing its key’s older one and its hits', async () => {
    const a = entry('a', { embeddingF32: randomBytes(32) });
    const b = entry('b', { questionEnc: null, embeddingSparse: null, embedder: null });
    await copyCacheEntries(copyFrom(), [a, b]);
    await recordCacheHits(database().db, [
      { tenantId, exactHash: 'a', count: 3, lastHitAt: new Date(NOW) },
    ]);
    expect(await stored()).toEqual([asStored(a, 3), asStored(b)]);

    // A newer entry of key a replaces the stored one, whose hits start over.
    const newer = entry('a', { id: uuidv7(), size: 2000 });
    await copyCacheEntries(copyFrom(), [newer]);
    const rows = await stored();
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.exact_hash === 'a')).toMatchObject({
      id: newer.id,
      size: 2000,
      hits: 0,
      unhit: true,
      response_enc: Buffer.from(newer.responseEnc).toString('hex'),
    });
  });

  it('a batch the database refuses stores none of its entries and leaves none for the next', async () => {
    // Two entries of one key in one batch: the merge cannot replace a row twice.
    const refused = [entry('x'), entry('y'), entry('y')];
    const error = await copyCacheEntries(copyFrom(), refused).then(
      () => null,
      (err: unknown) => err,
    );
    // The merge's own reason (cardinality_violation), not a stream that never settles.
    expect(sqlStateOf(error)).toBe('21000');
    expect(await stored()).toEqual([]);
    await copyCacheEntries(copyFrom(), [entry('z')]);
    expect((await stored()).map((r) => r.exact_hash)).toEqual(['z']);
  });
});
