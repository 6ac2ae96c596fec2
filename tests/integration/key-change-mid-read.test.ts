import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/keys/key-admin.js';
import { createKeyVerifier } from '../../src/keys/key-verifier.js';
import type { DatabaseHandle } from '../../src/storage/database.js';
import { openDatabase } from '../../src/storage/database.js';
import { revokeApiKey } from '../../src/storage/queries/api-keys.js';
import type { FreezableTcpProxy } from '../helpers/freezable-tcp-proxy.js';
import { manualClock } from '../helpers/manual-clock.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { createProxiedPostgresDatabase } from '../helpers/test-database.js';

const serverUrl = process.env.TEST_DATABASE_URL;

/** How many other sessions of this database run a statement, and how many of those wait on a lock. */
async function otherStatements(
  db: DatabaseHandle['db'],
): Promise<{ active: number; waiting: number }> {
  const result = await db.execute(
    sql`select count(*)::int as active,
          count(*) filter (where wait_event_type = 'Lock')::int as waiting
        from pg_stat_activity
        where datname = current_database() and state = 'active' and pid <> pg_backend_pid()`,
  );
  const rows = (result as unknown as { rows: Array<{ active: number; waiting: number }> }).rows;
  return rows[0] ?? { active: 0, waiting: 0 };
}

/** Resolves once a statement of this database waits on a lock (the verifier's read, held). */
async function untilAStatementWaitsOnALock(db: DatabaseHandle['db']): Promise<void> {
  while ((await otherStatements(db)).waiting === 0) {}
}

/** Resolves once no other session runs a statement (the verifier's read has read its row). */
async function untilNoOtherStatementRuns(db: DatabaseHandle['db']): Promise<void> {
  while ((await otherStatements(db)).active > 0) {}
}

describe.skipIf(!serverUrl)('a key changed while this instance was reading it', () => {
  let target: TestDatabaseTarget;
  let proxy: FreezableTcpProxy;
  let direct: DatabaseHandle;
  let viaProxy: DatabaseHandle;

  beforeAll(async () => {
    let url: string;
    ({ target, proxy, url } = await createProxiedPostgresDatabase(serverUrl ?? ''));
    direct = await openDatabase(target.target);
    await direct.migrate();
    viaProxy = await openDatabase({ kind: 'postgres', url });
  });

  afterAll(async () => {
    proxy?.thaw();
    await viaProxy?.close();
    await direct?.close();
    await proxy?.close();
    await target?.drop();
  });

  it('refuses the revoked key on the next request, though a read from before the revocation answers after it', async () => {
    const clock = manualClock(Date.now());
    const verifier = createKeyVerifier({
      db: viaProxy.db,
      clock,
      ttlMs: 2_000,
      staleWindowMs: 30_000,
    });
    const { key, row } = await createKey(direct.db, { name: 'revoked-mid-read' });
    expect((await verifier.verify(key)).ok).toBe(true);
    // Past the TTL: the next request reads the key again before it is answered.
    clock.advance(2_000);

    // The read reaches the database and waits on a lock; it runs, and sees the key unrevoked,
    // once the lock is gone, but its answer is held on the way back.
    let readBefore: ReturnType<typeof verifier.verify> | undefined;
    await direct.db.transaction(async (tx) => {
      await tx.execute(sql`lock table api_keys in access exclusive mode`);
      readBefore = verifier.verify(key);
      await untilAStatementWaitsOnALock(direct.db);
      proxy.freeze();
    });
    // Only once the read has run (its snapshot from before the revocation) does the key change.
    await untilNoOtherStatementRuns(direct.db);
    // The revocation commits and reaches this instance (as the admin route or the bus tells it).
    await revokeApiKey(direct.db, row.id, new Date(clock.now() - 1));
    verifier.invalidate(row.publicId);
    const next = verifier.verify(key);
    proxy.thaw();

    // The request that came before the revocation may be answered as the key stood then.
    expect((await readBefore)?.ok).toBe(true);
    expect(await next).toEqual({ ok: false, reason: 'revoked' });
    expect(await verifier.verify(key), 'not cached from the earlier read').toEqual({
      ok: false,
      reason: 'revoked',
    });
  });
});
