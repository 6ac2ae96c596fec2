import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/keys/api-key-format.js';
import { createKey } from '../../src/keys/key-admin.js';
import { createKeyVerifier } from '../../src/keys/key-verifier.js';
import type { Clock } from '../../src/runtime/clock.js';
import type { DatabaseHandle } from '../../src/storage/database.js';
import { openDatabase } from '../../src/storage/database.js';
import {
  findApiKey,
  listApiKeys,
  revokeApiKey,
  updateApiKey,
} from '../../src/storage/queries/api-keys.js';
import { ensureTenant, insertTenant, listTenants } from '../../src/storage/queries/tenants.js';
import { tenants } from '../../src/storage/schema.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { storageDrivers } from '../helpers/test-database.js';

function rowsOf(result: unknown): Record<string, unknown>[] {
  const r = result as { rows?: Record<string, unknown>[] };
  return r.rows ?? (result as Record<string, unknown>[]);
}

describe.each(storageDrivers())('storage on $name', (driver) => {
  let target: TestDatabaseTarget;
  let handle: DatabaseHandle;

  beforeAll(async () => {
    target = await driver.create();
    handle = await openDatabase(target.target);
    await handle.migrate();
  });

  afterAll(async () => {
    await handle?.close();
    await target?.drop();
  });

  it('applies the committed migrations once and again without error', async () => {
    await handle.migrate();
    const tables = rowsOf(
      await handle.db.execute(
        sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`,
      ),
    ).map((r) => r.table_name);
    expect(tables).toEqual(expect.arrayContaining(['api_keys', 'tenants']));
  });

  it('enables pgvector exactly when the server offers it', async () => {
    const available =
      rowsOf(
        await handle.db.execute(sql`select 1 from pg_available_extensions where name = 'vector'`),
      ).length > 0;
    expect(await handle.hasVector()).toBe(available);
    if (driver.name === 'pglite') expect(available).toBe(true);
  });

  it('round-trips bytea as a Buffer on this driver', async () => {
    const t = await insertTenant(handle.db, `bytes-${driver.name}`);
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await handle.db
      .update(tenants)
      .set({ dataKeyWrapped: bytes })
      .where(sql`${tenants.id} = ${t.id}`);
    const [row] = await handle.db.select().from(tenants).where(sql`${tenants.id} = ${t.id}`);
    expect(Buffer.isBuffer(row?.dataKeyWrapped)).toBe(true);
    expect(row?.dataKeyWrapped?.equals(bytes)).toBe(true);
  });

  it('stores keys as public id and hash only, and finds, updates and revokes them', async () => {
    const { key, row } = await createKey(handle.db, {
      name: 'svc',
      tenant: 'default',
      scopes: ['chat'],
      rpm: 10,
    });
    const stored = JSON.stringify(await listApiKeys(handle.db));
    expect(stored).not.toContain(key.slice(16));
    expect((await findApiKey(handle.db, row.publicId))?.id).toBe(row.id);
    const updated = await updateApiKey(handle.db, row.id, { tpm: 1000, allowedModels: ['gpt-4o'] });
    expect(updated).toMatchObject({ rpm: 10, tpm: 1000, allowedModels: ['gpt-4o'] });
    const first = await revokeApiKey(handle.db, row.id, new Date('2030-01-01T00:00:00Z'));
    const second = await revokeApiKey(handle.db, row.id, new Date('2031-01-01T00:00:00Z'));
    expect(second?.revokedAt?.toISOString()).toBe(first?.revokedAt?.toISOString());
  });

  it('ensureTenant is idempotent', async () => {
    const a = await ensureTenant(handle.db, 'acme');
    const b = await ensureTenant(handle.db, 'acme');
    expect(a.id).toBe(b.id);
    expect((await listTenants(handle.db)).filter((t) => t.name === 'acme')).toHaveLength(1);
  });

  /** A key verifier on this database (2 s cache, 30 s stale window), its clock reading `now`. */
  function verifierAt(now: () => number) {
    const clock: Clock = { now, monotonic: now };
    return createKeyVerifier({ db: handle.db, clock, ttlMs: 2_000, staleWindowMs: 30_000 });
  }

  it('stops accepting a revoked key once the verifier cache TTL has passed', async () => {
    let now = Date.now();
    const verifier = verifierAt(() => now);
    const { key, row } = await createKey(handle.db, { name: 'soon-revoked' });
    expect((await verifier.verify(key)).ok).toBe(true);
    await revokeApiKey(handle.db, row.id, new Date(now));
    now += 500;
    // Still inside the fresh window: served from the cache without a database round-trip.
    expect((await verifier.verify(key)).ok).toBe(true);
    now += 1_600;
    expect(await verifier.verify(key)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('refuses a key whose tenant was forgotten, though the key itself was never revoked', async () => {
    const now = Date.now();
    const verifier = verifierAt(() => now);
    const tenant = await insertTenant(handle.db, `forgotten-meanwhile-${now}`);
    const { key } = await createKey(handle.db, { name: 'made-as-forgotten', tenant: tenant.id });
    // As if the key was created in the moment its tenant's forget revoked the others.
    await handle.db.execute(sql`update tenants set forgotten_at = now() where id = ${tenant.id}`);
    expect(await verifier.verify(key)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('keeps a key in use cached while a client sends ids that name no key', async () => {
    const now = Date.now();
    const clock: Clock = { now: () => now, monotonic: () => now };
    const verifier = createKeyVerifier({
      db: handle.db,
      clock,
      ttlMs: 2_000,
      staleWindowMs: 30_000,
      maxEntries: 4,
    });
    const { key, row } = await createKey(handle.db, { name: 'in-use-among-guesses' });
    expect((await verifier.verify(key)).ok).toBe(true);
    for (let i = 0; i < 20; i++) {
      expect(await verifier.verify(generateApiKey().key)).toEqual({ ok: false, reason: 'unknown' });
    }
    // Revoked in the database: a key still cached is answered as read (its fresh window has not
    // passed); one the guesses had pushed out would be read again and refused.
    await revokeApiKey(handle.db, row.id, new Date(now - 1));
    expect((await verifier.verify(key)).ok).toBe(true);
  });

  it('caches verified keys so repeated requests do not query the database', async () => {
    const now = Date.now();
    const verifier = verifierAt(() => now);
    const { key } = await createKey(handle.db, { name: 'hot' });
    await verifier.verify(key);
    await handle.close();
    try {
      // The database is closed: only the cache can answer.
      expect((await verifier.verify(key)).ok).toBe(true);
    } finally {
      handle = await openDatabase(target.target);
    }
  });
});
