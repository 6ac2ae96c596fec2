import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle as drizzleNodePostgres } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePostgres } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/storage/database.js';
import { openPglite } from '../../src/storage/pglite-thread/pglite-open.js';
import { createPostgresDatabase, type TestDatabaseTarget } from './test-database.js';

/** Upgrade tests: a database migrated up to a given migration, then to the current one. */

/** The migrations folder as it was before migration `tag`: its journal cut there. */
export function migrationsBefore(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-migrations-'));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  const journalPath = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const cut = journal.entries.findIndex((e) => e.tag === tag);
  expect(cut).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, cut);
  writeFileSync(journalPath, JSON.stringify(journal));
  return dir;
}

/** A database driven by plain SQL, migrated to a given folder. */
export interface Driven {
  migrate(folder: string): Promise<void>;
  rows<T>(text: string): Promise<T[]>;
  close(): Promise<void>;
}

async function pgliteDriven(): Promise<Driven> {
  const client = await openPglite(null);
  const db = drizzlePglite({ client });
  return {
    migrate: (folder) => migratePglite(db, { migrationsFolder: folder }),
    rows: async <T>(text: string) => (await client.query<T>(text)).rows,
    close: () => client.close(),
  };
}

async function postgresDriven(target: TestDatabaseTarget): Promise<Driven> {
  if (target.target.kind !== 'postgres') throw new Error('a PostgreSQL target');
  const client = new pg.Client({ connectionString: target.target.url });
  await client.connect();
  const db = drizzleNodePostgres({ client });
  return {
    migrate: (folder) => migrateNodePostgres(db, { migrationsFolder: folder }),
    rows: async <T>(text: string) => (await client.query(text)).rows as T[],
    close: () => client.end(),
  };
}

/** The embedded database, and PostgreSQL when TEST_DATABASE_URL is set. */
export const drivers: { name: string; open(): Promise<{ db: Driven; drop(): Promise<void> }> }[] = [
  { name: 'pglite', open: async () => ({ db: await pgliteDriven(), drop: async () => {} }) },
];
const serverUrl = process.env.TEST_DATABASE_URL;
if (serverUrl) {
  drivers.push({
    name: 'postgres',
    open: async () => {
      const target = await createPostgresDatabase(serverUrl);
      return { db: await postgresDriven(target), drop: () => target.drop() };
    },
  });
}

/** A driver's database and the migrations folder cut before a tag, for one describe block. */
export interface UpgradeDatabase {
  readonly db: Driven;
  readonly folder: string;
}

/**
 * Opens `driver`'s database before the block's tests, with the migrations folder as it was
 * before migration `tag`; closes and drops both after them.
 */
export function upgradeDatabase(driver: (typeof drivers)[number], tag: string): UpgradeDatabase {
  const state: { db?: Driven; folder?: string; drop?: () => Promise<void> } = {};
  beforeAll(async () => {
    state.folder = migrationsBefore(tag);
    const opened = await driver.open();
    state.db = opened.db;
    state.drop = opened.drop;
  }, 120_000);
  afterAll(async () => {
    await state.db?.close();
    await state.drop?.();
    if (state.folder) rmSync(state.folder, { recursive: true, force: true });
  });
  return {
    get db() {
      if (!state.db) throw new Error('the database opens before the tests');
      return state.db;
    },
    get folder() {
      if (!state.folder) throw new Error('the migrations folder is made before the tests');
      return state.folder;
    },
  };
}
