import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle as drizzleNodePostgres } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePostgres } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { generateMasterKeyEntry } from '../../src/crypto/key-ring.js';
import { databaseLocation, MIGRATIONS_DIR } from '../../src/storage/database.js';
import { pendingMigrations } from '../../src/storage/migration-plan.js';
import { openPglite } from '../../src/storage/pglite-thread/pglite-open.js';
import { migrationsBefore } from '../helpers/migration-upgrade.js';
import { createPostgresDatabase, type TestDatabaseTarget } from '../helpers/test-database.js';
import { runCli } from '../helpers/tollgate-cli.js';

/**
 * Only `serve` and `migrate` create a database. Every other command, pointed (by a mistyped
 * TOLLGATE_DATA_DIR or DATABASE_URL) where there is none, refuses with one line and exit 1 and
 * creates nothing: no data directory, no master.key, no table.
 */

const serverUrl = process.env.TEST_DATABASE_URL;
const HINT = "start the gateway once (npm start) or run 'tollgate migrate' to create it";
/** The last migration: a database migrated up to just before it is behind. */
const LAST_MIGRATION = '0025_analytics_provider';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-database-'));
  dirs.push(dir);
  return dir;
}

/** Commands that read or change the database, with arguments good enough to act. */
const ACTING = [
  ['keys', 'create', '--name', 'ci'],
  ['keys', 'list'],
  ['keys', 'update', 'key_AAAAAAAAAAAA', '--rpm', '60'],
  ['keys', 'revoke', 'key_AAAAAAAAAAAA'],
  ['keys', 'rotate-master'],
  ['tenants', 'create', 'acme'],
  ['tenants', 'list'],
  ['tenants', 'forget', 'acme'],
] as const;

/**
 * Runs each command, `atOnce` at a time (one where a database is opened: the embedded one takes
 * one process at a time), and expects each refused with exactly `line`.
 */
async function expectEachRefused(
  commands: readonly (readonly string[])[],
  env: Record<string, string>,
  line: string,
  atOnce = 4,
): Promise<void> {
  for (let i = 0; i < commands.length; i += atOnce) {
    const batch = commands.slice(i, i + atOnce);
    const runs = await Promise.all(batch.map((args) => runCli(args, env)));
    runs.forEach((r, j) => {
      const what = `${batch[j]?.join(' ')}: ${r.stdout}${r.stderr}`;
      expect(r.code, what).toBe(1);
      expect(r.stderr, what).toBe(`tollgate: ${line}\n`);
      expect(r.stdout, what).toBe('');
    });
  }
}

/** Creates a key, a tenant, and lists both: what a user does once the database is there. */
async function expectCommandsWork(env: Record<string, string>): Promise<void> {
  const created = await runCli(['keys', 'create', '--name', 'ci'], env);
  expect(created.code, created.stderr).toBe(0);
  expect(created.stdout).toMatch(/^tg_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}\n$/);
  const keys = await runCli(['keys', 'list', '--json'], env);
  expect(keys.code, keys.stderr).toBe(0);
  expect(JSON.parse(keys.stdout), keys.stdout).toMatchObject([{ name: 'ci' }]);
  const tenant = await runCli(['tenants', 'create', 'acme'], env);
  expect(tenant.code, tenant.stderr).toBe(0);
  const tenants = await runCli(['tenants', 'list'], env);
  expect(tenants.code, tenants.stderr).toBe(0);
  expect(tenants.stdout).toMatch(/\tacme\tactive\n/);
}

describe('CLI commands on an embedded data directory without a database', {
  timeout: 300_000,
}, () => {
  it('refuse, creating no directory, database or master.key; after tollgate migrate they work', async () => {
    const parent = tempDir();
    const dataDir = join(parent, 'data');
    const env = { TOLLGATE_DATA_DIR: dataDir };
    await expectEachRefused(
      ACTING,
      env,
      `no Tollgate database in ${dataDir} (TOLLGATE_DATA_DIR); ${HINT}`,
    );
    expect(readdirSync(parent), 'the data directory was created').toEqual([]);

    // A directory made beforehand, still empty: left empty (no master.key, no lock file).
    mkdirSync(dataDir);
    await expectEachRefused(
      ACTING,
      env,
      `no Tollgate database in ${dataDir} (TOLLGATE_DATA_DIR); ${HINT}`,
    );
    expect(readdirSync(dataDir), 'something was written into the data directory').toEqual([]);

    const migrated = await runCli(['migrate'], env);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stderr).toContain(
      `Created a new embedded database in ${join(dataDir, 'pgdata')}`,
    );
    await expectCommandsWork(env);
  });

  it('names the default ./data when TOLLGATE_DATA_DIR is not set, and leaves it uncreated', async () => {
    const cwd = tempDir();
    const r = await runCli(['keys', 'create', '--name', 'ci'], {}, cwd);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe(
      `tollgate: no Tollgate database in ./data (TOLLGATE_DATA_DIR); ${HINT}\n`,
    );
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('refuse the in-memory database, which would be a new one that ends with the command', async () => {
    const r = await runCli(['keys', 'create', '--name', 'ci'], { DATABASE_URL: 'memory://' });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^tollgate: DATABASE_URL=memory:\/\/ is a database inside the gateway process only: .*admin API/,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuse a database without the Tollgate schema and leave it so; bring one that is behind up to date', async () => {
    const dataDir = tempDir();
    const pgdata = join(dataDir, 'pgdata');
    // A database and nothing in it: a first start stopped before its migrations, say.
    await (await openPglite(pgdata)).close();
    await expectEachRefused(
      [
        ['keys', 'list'],
        ['tenants', 'create', 'acme'],
      ],
      { TOLLGATE_DATA_DIR: dataDir },
      `no Tollgate database in ${dataDir} (TOLLGATE_DATA_DIR); ${HINT}`,
      1,
    );

    const client = await openPglite(pgdata);
    try {
      const tables = await client.query<{ n: number }>(
        "select count(*)::int as n from pg_tables where schemaname not in ('pg_catalog', 'information_schema')",
      );
      expect(tables.rows[0]?.n, 'tables were created').toBe(0);
      const migrations = migrationsBefore(LAST_MIGRATION);
      dirs.push(migrations);
      await migratePglite(drizzlePglite({ client }), { migrationsFolder: migrations });
    } finally {
      await client.close();
    }

    // Behind by one migration: the command migrates it, as it always has, and acts.
    const r = await runCli(['tenants', 'create', 'acme'], { TOLLGATE_DATA_DIR: dataDir });
    expect(r.code, r.stderr).toBe(0);
    const after = await openPglite(pgdata);
    try {
      expect(await pendingMigrations(drizzlePglite({ client: after }), MIGRATIONS_DIR)).toEqual([]);
    } finally {
      await after.close();
    }
  });
});

describe.skipIf(!serverUrl)(
  'CLI commands on a PostgreSQL database without the Tollgate schema',
  { timeout: 300_000 },
  () => {
    const databases: TestDatabaseTarget[] = [];
    afterAll(async () => {
      for (const database of databases) await database.drop();
    });

    async function database(): Promise<{ url: string; env: Record<string, string> }> {
      const target = await createPostgresDatabase(serverUrl ?? '');
      databases.push(target);
      if (target.target.kind !== 'postgres') throw new Error('expected a PostgreSQL target');
      const url = target.target.url;
      const env = {
        DATABASE_URL: url,
        TOLLGATE_MASTER_KEYS: generateMasterKeyEntry(),
        TOLLGATE_DATA_DIR: tempDir(),
      };
      return { url, env };
    }

    async function onDatabase<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return await work(client);
      } finally {
        await client.end();
      }
    }

    it('refuse, creating nothing in it; after tollgate migrate they work', async () => {
      const { url, env } = await database();
      await expectEachRefused(
        [...ACTING, ['analysts', 'grant', `tollgate_cli_reader_${process.pid}`]],
        env,
        `no Tollgate schema in the database at ${databaseLocation(url)} (DATABASE_URL); ${HINT}`,
      );
      const made = await onDatabase(url, async (client) => {
        const relations = await client.query<{ name: string }>(
          `select n.nspname || '.' || c.relname as name from pg_class c
          join pg_namespace n on n.oid = c.relnamespace
          where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')`,
        );
        const schemas = await client.query<{ name: string }>(
          "select nspname as name from pg_namespace where nspname = 'drizzle'",
        );
        const extensions = await client.query<{ name: string }>(
          "select extname as name from pg_extension where extname <> 'plpgsql'",
        );
        return [...relations.rows, ...schemas.rows, ...extensions.rows].map((r) => r.name);
      });
      expect(made, 'something was created in the database').toEqual([]);

      const migrated = await runCli(['migrate'], env);
      expect(migrated.code, migrated.stderr).toBe(0);
      await expectCommandsWork(env);
    });

    it('bring a database that is behind up to date, as before, and act', async () => {
      const { url, env } = await database();
      const migrations = migrationsBefore(LAST_MIGRATION);
      dirs.push(migrations);
      await onDatabase(url, (client) =>
        migrateNodePostgres(drizzleNodePostgres({ client }), { migrationsFolder: migrations }),
      );
      const r = await runCli(['tenants', 'create', 'acme'], env);
      expect(r.code, r.stderr).toBe(0);
      const pending = await onDatabase(url, (client) =>
        pendingMigrations(drizzleNodePostgres({ client }), MIGRATIONS_DIR),
      );
      expect(pending).toEqual([]);
    });
  },
);
