import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/storage/database.js';
import { openDatabase } from '../../src/storage/database.js';
import { AnalystRoleError, grantAnalystRole } from '../../src/storage/queries/analytics-views.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { seedBulkRows } from '../helpers/analytics-seed.js';
import { runOnServer } from '../helpers/server-sql.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { createPostgresDatabase } from '../helpers/test-database.js';
import { runCli } from '../helpers/tollgate-cli.js';

const serverUrl = process.env.TEST_DATABASE_URL;

describe('analysts grant on the embedded database', () => {
  it('refuses with one clear line, because PGlite has no roles', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-analysts-'));
    const run = await runCli(['analysts', 'grant', 'bi_reader'], { TOLLGATE_DATA_DIR: dataDir });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/needs PostgreSQL.*no roles/);
  });
});

describe.skipIf(!serverUrl)('analysts grant on PostgreSQL', () => {
  const role = `tollgate_analyst_${process.pid}`;
  const reader = `tollgate_table_reader_${process.pid}`;
  const maker = `tollgate_role_maker_${process.pid}`;
  let target: TestDatabaseTarget;
  let handle: DatabaseHandle;
  let session: pg.Client;

  beforeAll(async () => {
    target = await createPostgresDatabase(serverUrl ?? '');
    handle = await openDatabase(target.target);
    await handle.migrate();
    const tenant = await insertTenant(handle.db, 'acme');
    await seedBulkRows(handle.db, tenant.id, 500, new Date('2025-05-01T00:00:00Z'));
    if (target.target.kind !== 'postgres') throw new Error('expected a PostgreSQL target');
    session = new pg.Client({ connectionString: target.target.url });
    await session.connect();
  });

  afterAll(async () => {
    await session?.end();
    await handle?.close();
    await target?.drop();
    await runOnServer(
      serverUrl ?? '',
      `DROP ROLE IF EXISTS "${role}"`,
      `DROP ROLE IF EXISTS "${reader}"`,
      `DROP ROLE IF EXISTS "${maker}"`,
    );
  });

  it('creates a role that reads the views and is denied the tables', async () => {
    expect(await grantAnalystRole(handle.db, role)).toEqual({ created: true });
    expect(await grantAnalystRole(handle.db, role)).toEqual({ created: false });
    const { rows: before } = await session.query(
      'select rolcanlogin from pg_roles where rolname = $1',
      [role],
    );
    expect(before[0]?.rolcanlogin).toBe(false);
    await session.query(`SET ROLE "${role}"`);
    try {
      const daily = await session.query(
        'select sum(requests)::int as n from interaction_stats_daily',
      );
      expect(daily.rows[0]?.n).toBe(500);
      const hourly = await session.query(
        'select sum(requests)::int as n from interaction_stats_hourly',
      );
      expect(hourly.rows[0]?.n).toBe(500);
      for (const table of ['interactions', 'api_keys', 'tenants', 'audit_log']) {
        await expect(session.query(`select 1 from ${table} limit 1`), table).rejects.toThrow(
          /permission denied/,
        );
      }
    } finally {
      await session.query('RESET ROLE');
    }
  });

  it('gives the role a login when a password is given', async () => {
    await grantAnalystRole(handle.db, role, { password: "it's-a-secret" });
    const { rows } = await session.query('select rolcanlogin from pg_roles where rolname = $1', [
      role,
    ]);
    expect(rows[0]?.rolcanlogin).toBe(true);
  });

  it('refuses an existing role that may do more, leaving it as it was', async () => {
    await session.query(`CREATE ROLE "${reader}" NOLOGIN`);
    await session.query(`GRANT SELECT ON interactions TO "${reader}"`);
    await session.query(`CREATE ROLE "${maker}" NOLOGIN CREATEROLE`);
    for (const [name, why] of [
      [reader, /access to the gateway's tables/],
      [maker, /CREATEROLE/],
    ] as const) {
      await expect(
        grantAnalystRole(handle.db, name, { password: 'analyst-pw' }),
        name,
      ).rejects.toThrow(AnalystRoleError);
      await expect(grantAnalystRole(handle.db, name), name).rejects.toThrow(why);
    }
    // The gateway's own role (it owns every table), asked without a password so that nothing
    // about it could change.
    const own = (await session.query<{ u: string }>('select current_user as u')).rows[0]?.u ?? '';
    await expect(grantAnalystRole(handle.db, own)).rejects.toThrow(/gateway's tables/);
    const { rows } = await session.query(
      'select rolname, rolcanlogin from pg_roles where rolname = any($1) order by rolname',
      [[reader, maker]],
    );
    expect(rows).toEqual([
      { rolname: maker, rolcanlogin: false },
      { rolname: reader, rolcanlogin: false },
    ]);
  });
});
