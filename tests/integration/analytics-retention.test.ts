import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Deps } from '../../src/deps.js';
import type { Clock } from '../../src/runtime/clock.js';
import { findInteraction } from '../../src/storage/queries/interactions.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { interactions } from '../../src/storage/schema.js';
import { startAnalyticsGateway } from '../helpers/analytics-client.js';
import { recordInteraction, seedBulkRows } from '../helpers/analytics-seed.js';
import type { TestApp } from '../helpers/test-app.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { storageDrivers } from '../helpers/test-database.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const NOW = Date.parse('2025-06-01T12:00:00Z');

describe.each(storageDrivers())('retention on $name', (driver) => {
  let target: TestDatabaseTarget;
  let gateway: TestApp;
  let deps: Deps;
  let now = NOW;
  const clock: Clock = { now: () => now, monotonic: () => performance.now() };

  beforeAll(async () => {
    // The gateway's periodic jobs (the rollup fold above all) do not run here: on a slow machine
    // a fold of the seeded rows would hold the database while these tests read it.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    target = await driver.create();
    ({ gateway, deps } = await startAnalyticsGateway(
      target,
      { RETENTION_CONTENT_DAYS: '7', RETENTION_ROWS_DAYS: '30' },
      { clock },
    ));
  });

  afterAll(async () => {
    await gateway?.close();
    await target?.drop();
    vi.useRealTimers();
  });

  async function countRows(): Promise<number> {
    const [row] = await deps.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(interactions);
    return Number(row?.n ?? 0);
  }

  it('erases text after RETENTION_CONTENT_DAYS and deletes rows after RETENTION_ROWS_DAYS, in batches', async () => {
    const tenant = await insertTenant(deps.database.db, 'acme');
    // 12,000 rows past the row limit: more than two batches of 5,000.
    await seedBulkRows(deps.database.db, tenant.id, 12_000, new Date(NOW - 60 * DAY_MS));
    now = NOW - 10 * DAY_MS;
    const oldText = await recordInteraction(deps, { tenantId: tenant.id, keyId: 'key_r' });
    now = NOW - 1 * DAY_MS;
    const freshText = await recordInteraction(deps, { tenantId: tenant.id, keyId: 'key_r' });
    now = NOW;
    expect(await countRows()).toBe(12_002);

    const result = await deps.retention.run();

    expect(result).toEqual({ rowsDeleted: 12_000, contentErased: 1, storedDeleted: 0 });
    expect(await countRows()).toBe(2);
    const erased = await findInteraction(deps.database.db, oldText);
    expect(erased?.requestEnc).toBeNull();
    expect(erased?.responseEnc).toBeNull();
    expect(erased?.promptTokens, 'metadata stays').toBe(12);
    const kept = await findInteraction(deps.database.db, freshText);
    expect(kept?.requestEnc).not.toBeNull();

    // As time passes the clock moves the cut-offs: 31 days on, the rest goes too.
    now = NOW + 31 * DAY_MS;
    expect(await deps.retention.run()).toEqual({
      rowsDeleted: 2,
      contentErased: 0,
      storedDeleted: 0,
    });
    const left = await deps.database.db
      .select()
      .from(interactions)
      .where(eq(interactions.tenantId, tenant.id));
    expect(left).toEqual([]);
  });
});
