import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { DatabaseHandle, DatabaseTarget } from '../../src/storage/database.js';
import { openDatabase } from '../../src/storage/database.js';
import { FreezableTcpProxy } from './freezable-tcp-proxy.js';
import { openMigratedPglite } from './pglite-template.js';
import { runOnServer } from './server-sql.js';

/** A database a test suite owns: created for it, dropped afterwards. */
export interface TestDatabaseTarget {
  name: string;
  target: DatabaseTarget;
  drop(): Promise<void>;
}

/** A fresh PostgreSQL database on the server named by TEST_DATABASE_URL. */
export async function createPostgresDatabase(serverUrl: string): Promise<TestDatabaseTarget> {
  const name = `tollgate_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await runOnServer(serverUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    target: { kind: 'postgres', url: url.toString() },
    async drop() {
      await runOnServer(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** A fresh PostgreSQL database reached through a proxy the test can cut or freeze. */
export async function createProxiedPostgresDatabase(
  serverUrl: string,
): Promise<{ target: TestDatabaseTarget; proxy: FreezableTcpProxy; url: string }> {
  const target = await createPostgresDatabase(serverUrl);
  const direct = new URL(target.target.kind === 'postgres' ? target.target.url : '');
  const proxy = await FreezableTcpProxy.start({
    host: direct.hostname,
    port: Number(direct.port || 5432),
  });
  const viaProxy = new URL(direct);
  viaProxy.port = String(proxy.port);
  return { target, proxy, url: viaProxy.toString() };
}

/** The drivers a storage suite runs on: PGlite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function storageDrivers(): { name: string; create(): Promise<TestDatabaseTarget> }[] {
  const drivers = [
    {
      name: 'pglite',
      create: async (): Promise<TestDatabaseTarget> => ({
        name: 'memory',
        target: { kind: 'pglite', dataDir: null },
        drop: async () => {},
      }),
    },
  ];
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (serverUrl)
    drivers.push({ name: 'postgres', create: () => createPostgresDatabase(serverUrl) });
  return drivers;
}

/**
 * An in-memory PGlite, migrated before the calling suite's tests and closed after them; call the
 * returned function inside a test to get it.
 */
export function migratedMemoryDatabase(): () => DatabaseHandle {
  let handle: DatabaseHandle | undefined;
  beforeAll(async () => {
    handle = await openDatabase({ kind: 'pglite', dataDir: null });
    await handle.migrate();
  });
  afterAll(async () => {
    await handle?.close();
  });
  return () => {
    if (!handle) throw new Error('the test database is opened in beforeAll');
    return handle;
  };
}

/**
 * A database on `driver` (one of storageDrivers()), created and migrated before the calling
 * suite's tests, closed and dropped after them; call the returned function inside a test.
 */
export function migratedDatabaseOn(driver: {
  create(): Promise<TestDatabaseTarget>;
}): () => DatabaseHandle {
  let target: TestDatabaseTarget | undefined;
  let handle: DatabaseHandle | undefined;
  beforeAll(async () => {
    target = await driver.create();
    if (target.target.kind === 'pglite' && target.target.dataDir === null) {
      handle = await openMigratedPglite();
    } else {
      handle = await openDatabase(target.target);
      await handle.migrate();
    }
  });
  afterAll(async () => {
    await handle?.close();
    await target?.drop();
  });
  return () => {
    if (!handle) throw new Error('the test database is opened in beforeAll');
    return handle;
  };
}
