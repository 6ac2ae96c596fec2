import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/storage/database.js';
import { openDatabase } from '../../src/storage/database.js';
import { isConnectionFailure } from '../../src/storage/database-probe.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { rowsOf } from '../../src/storage/rows-of.js';
import { rejectionOf } from '../helpers/rejection-of.js';
import { runOnServer, withServerSession } from '../helpers/server-sql.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { createPostgresDatabase } from '../helpers/test-database.js';

const serverUrl = process.env.TEST_DATABASE_URL;

/** A promise and the function that resolves it. */
function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

// A failover, an operator's pg_terminate_backend or idle_in_transaction_session_timeout ends a
// connection in the middle of a transaction. The transaction must fail and keep nothing; the
// gateway must stay up (an uncaught error here fails the run) and carry on with new connections.
describe.skipIf(!serverUrl)('PostgreSQL connections that die under a transaction', () => {
  let target: TestDatabaseTarget;
  let handle: DatabaseHandle;

  beforeAll(async () => {
    target = await createPostgresDatabase(serverUrl ?? '');
    handle = await openDatabase(target.target);
    await handle.migrate();
  });

  afterAll(async () => {
    await handle?.close();
    await target?.drop();
  });

  const terminate = (pid: number) =>
    runOnServer(serverUrl ?? '', `select pg_terminate_backend(${pid})`);

  const backendPid = async (tx: Pick<DatabaseHandle['db'], 'execute'>) =>
    Number(rowsOf<{ pid: number }>(await tx.execute(sql`select pg_backend_pid() as pid`))[0]?.pid);

  const tenantNames = async () =>
    rowsOf<{ name: string }>(
      await handle.db.execute(sql`select name from tenants order by name`),
    ).map((r) => r.name);

  it('fails a transaction whose connection dies during a statement and keeps none of it', async () => {
    const started = signal<number>();
    const tx = handle.db.transaction(async (t) => {
      await insertTenant(t, 'written-before-the-loss');
      started.resolve(await backendPid(t));
      await t.execute(sql`select pg_sleep(30)`);
    });
    const failure = rejectionOf(tx);
    await terminate(await started.promise);
    expect(isConnectionFailure(await failure)).toBe(true);
    expect(await tenantNames()).not.toContain('written-before-the-loss');
  });

  it('fails a transaction whose connection dies between two statements and keeps none of it', async () => {
    const started = signal<number>();
    const killed = signal();
    const tx = handle.db.transaction(async (t) => {
      await insertTenant(t, 'first-of-two');
      started.resolve(await backendPid(t));
      await killed.promise;
      await insertTenant(t, 'second-of-two');
    });
    const failure = rejectionOf(tx);
    const pid = await started.promise;
    await terminate(pid);
    // The server has ended the session: wait until it is gone before the transaction goes on.
    await expect
      .poll(async () =>
        rowsOf(await handle.db.execute(sql`select 1 from pg_stat_activity where pid = ${pid}`)),
      )
      .toHaveLength(0);
    killed.resolve();
    expect(isConnectionFailure(await failure)).toBe(true);
    // The next transaction, on whichever connection it gets, commits only its own work.
    await handle.db.transaction(async (t) => {
      await insertTenant(t, 'after-the-loss');
    });
    const names = await tenantNames();
    expect(names).toContain('after-the-loss');
    expect(names).not.toContain('first-of-two');
    expect(names).not.toContain('second-of-two');
  });

  it('replaces idle connections the server ended and answers the next query', async () => {
    // Fill the pool with idle connections, then end every one of them from the server.
    await Promise.all(
      Array.from({ length: 4 }, () => handle.db.execute(sql`select pg_sleep(0.05)`)),
    );
    await runOnServer(
      serverUrl ?? '',
      `select pg_terminate_backend(pid) from pg_stat_activity
        where datname = '${target.name}' and pid <> pg_backend_pid()`,
    );
    await expect
      .poll(async () =>
        handle.ping().then(
          () => 'answers',
          () => 'fails',
        ),
      )
      .toBe('answers');
    await handle.db.transaction(async (t) => {
      await insertTenant(t, 'on-a-new-connection');
    });
    expect(await tenantNames()).toContain('on-a-new-connection');
  });
});

describe.skipIf(!serverUrl)('closing while a statement runs', () => {
  let target: TestDatabaseTarget;

  beforeAll(async () => {
    target = await createPostgresDatabase(serverUrl ?? '');
  });

  afterAll(async () => {
    await target?.drop();
  });

  it('cuts the connection of a statement that does not finish in time, failing it, and closes', async () => {
    const handle = await openDatabase(target.target);
    const running = rejectionOf(handle.db.execute(sql`select pg_sleep(600)`));
    await expect
      .poll(() =>
        withServerSession(serverUrl ?? '', async (session) => {
          const { rows } = await session.query(
            `select 1 from pg_stat_activity where datname = $1 and query like 'select pg_sleep%'`,
            [target.name],
          );
          return rows.length;
        }),
      )
      .toBe(1);
    // Closing waits its grace (5 s) for the statement, then cuts its connection: close settles,
    // and so does the statement, as a connection failure.
    await handle.close();
    expect(isConnectionFailure(await running)).toBe(true);
  });
});
