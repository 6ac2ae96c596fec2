import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { Breaker } from '../../src/cache/breaker.js';
import { DatabaseTier } from '../../src/cache/database-tier.js';
import { EntryCodec } from '../../src/cache/entry-codec.js';
import { HitCounter } from '../../src/cache/hit-counter.js';
import { generateMasterKeyEntry, parseMasterKeys } from '../../src/crypto/key-ring.js';
import { createLogger } from '../../src/runtime/logger.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { cacheEntries } from '../../src/storage/schema.js';
import { createTenantKeys } from '../../src/tenants/tenant-keys.js';
import { cacheEntryRow } from '../helpers/cache-entry-row.js';
import { migratedDatabaseOn, storageDrivers } from '../helpers/test-database.js';

const NOW = Date.UTC(2030, 0, 1);
const clock = { now: () => NOW, monotonic: () => performance.now() };

// Another session's open transaction needs a server: PGlite has one session.
const server = storageDrivers().find((d) => d.name === 'postgres');

describe.skipIf(!server)('the cache sync on PostgreSQL', () => {
  const database = migratedDatabaseOn(
    server ?? { create: () => Promise.reject(new Error('TEST_DATABASE_URL is not set')) },
  );
  let tenantId: string;

  const entry = (exactHash: string) => cacheEntryRow(tenantId, exactHash, NOW);

  beforeAll(async () => {
    tenantId = (await insertTenant(database().db, 'sync')).id;
  });

  it('finds a row whose transaction began before a sync and committed after it, and reads older rows once', async () => {
    const db = database().db;
    const tier = new DatabaseTier({
      db,
      codec: new EntryCodec(
        createTenantKeys({ db, ring: parseMasterKeys(generateMasterKeyEntry('sync')) }),
      ),
      breaker: new Breaker({ clock, openMs: 60_000 }),
      hits: new HitCounter(),
      clock,
      logger: createLogger('silent'),
      othersWrite: true,
      copyFrom: database().copyFrom,
      // Without the margin, a write begun a moment before a read must be found by the horizon
      // alone (the margin would cover a write begun less than a second before).
      horizonMarginMs: 1,
    });
    // Every row in a sync's read comes back: what it reads is what it returns.
    const sync = async () =>
      ((await tier.sync(NOW, () => false))?.rows ?? []).map((r) => r.exactHash);

    const old = entry('old');
    await db.insert(cacheEntries).values(old);
    await db.execute(
      sql`update cache_entries set written_at = now() - interval '3 seconds' where id = ${old.id}`,
    );
    expect(await tier.loadNewest(NOW, () => true)).toBe(true);

    // Another instance's write begins, stamped at its start, and commits only later.
    let commit: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      commit = resolve;
    });
    let begun: () => void = () => {};
    const inside = new Promise<void>((resolve) => {
      begun = resolve;
    });
    const late = db.transaction(async (tx) => {
      await tx.insert(cacheEntries).values(entry('late'));
      begun();
      await held;
    });
    await inside;
    // A row written after it began, committed at once: the first sync's newest.
    await db.insert(cacheEntries).values(entry('after'));

    expect((await sync()).sort()).toEqual(['after', 'old']);
    // The write begun before that read is still open, so the next read goes back to its start,
    // not 5 s behind the newest row: the row older than it is not read again.
    expect(await sync()).not.toContain('old');
    commit();
    await late;
    expect(await sync()).toContain('late');
  });
});
