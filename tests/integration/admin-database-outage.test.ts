import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateMasterKeyEntry } from '../../src/crypto/key-ring.js';
import { openDatabase } from '../../src/storage/database.js';
import type { FreezableTcpProxy } from '../helpers/freezable-tcp-proxy.js';
import type { ManualClock } from '../helpers/manual-clock.js';
import { manualClock } from '../helpers/manual-clock.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { createProxiedPostgresDatabase } from '../helpers/test-database.js';

const serverUrl = process.env.TEST_DATABASE_URL;

/** Every admin and analytics read an operator makes. */
const READS = [
  '/admin/keys',
  '/admin/tenants',
  '/analytics/interactions',
  '/analytics/summary',
  '/analytics/export',
];

async function expectDatabaseUnavailable(gateway: TestApp, key: string, path: string) {
  const res = await gateway.request(path, { headers: { authorization: `Bearer ${key}` } });
  const text = await res.text();
  expect(res.status, `${path}: ${text}`).toBe(503);
  expect(JSON.parse(text).error, text).toMatchObject({
    type: 'server_error',
    code: 'database_unavailable',
  });
  expect(res.headers.get('retry-after'), path).toBe('1');
}

describe('16: admin and analytics while PGlite is held by a statement that does not end', () => {
  let gateway: TestApp;
  let clock: ManualClock;
  let admin: string;

  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    clock = manualClock(Date.now());
    gateway = await createTestApp({ DATABASE_PROBE_TIMEOUT_MS: '300' }, { clock });
    admin = (await gateway.createKey({ scopes: ['admin'] })).key;
  });

  afterAll(async () => {
    await gateway?.close();
    vi.useRealTimers();
  });

  it('16: answers 503 database_unavailable on every admin and analytics read, then 200 once the database answers', async () => {
    for (const path of READS) {
      const res = await gateway.request(path, { headers: { authorization: `Bearer ${admin}` } });
      expect(res.status, `${path}: ${await res.text()}`).toBe(200);
    }
    // PGlite runs one statement at a time: while this one sleeps, nothing else is answered.
    const held = Promise.resolve(gateway.deps.database.db.execute(sql`select pg_sleep(3)`));
    clock.advance(1_500);
    // A cache flush deletes rows too: it is refused the same way, not left waiting.
    const flush = await gateway.request('/admin/cache', {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(flush.status, await flush.text()).toBe(503);
    expect(flush.headers.get('retry-after')).toBe('1');
    for (const path of READS) await expectDatabaseUnavailable(gateway, admin, path);
    await held;
    clock.advance(1_500);
    const res = await gateway.request('/admin/keys', {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(res.status, await res.text()).toBe(200);
  });
});

describe.skipIf(!serverUrl)('16: admin and analytics while PostgreSQL stops answering', () => {
  let target: TestDatabaseTarget;
  let proxy: FreezableTcpProxy;
  let gateway: TestApp;
  let clock: ManualClock;
  let admin: string;

  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let url: string;
    ({ target, proxy, url } = await createProxiedPostgresDatabase(serverUrl ?? ''));
    clock = manualClock(Date.now());
    const database = await openDatabase({ kind: 'postgres', url: url });
    gateway = await createTestApp(
      {
        DATABASE_URL: url,
        DATABASE_PROBE_TIMEOUT_MS: '300',
        TOLLGATE_MASTER_KEYS: generateMasterKeyEntry('ci'),
      },
      { clock, database },
    );
    admin = (await gateway.createKey({ scopes: ['admin'] })).key;
  });

  afterAll(async () => {
    proxy?.cut();
    await gateway?.close();
    await proxy?.close();
    await target?.drop();
    vi.useRealTimers();
  });

  it('16: answers 503 database_unavailable when the connection hangs, and when it is refused', async () => {
    for (const path of READS) {
      const res = await gateway.request(path, { headers: { authorization: `Bearer ${admin}` } });
      expect(res.status, `${path}: ${await res.text()}`).toBe(200);
    }
    proxy.freeze();
    clock.advance(1_500);
    for (const path of READS) await expectDatabaseUnavailable(gateway, admin, path);
    proxy.cut();
    clock.advance(1_500);
    for (const path of READS) await expectDatabaseUnavailable(gateway, admin, path);
  });
});
