import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { messages, types } from '@electric-sql/pglite';
import { count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorReason } from '../../src/runtime/error-reason.js';
import { DataDirBusyError, lockDataDir } from '../../src/storage/data-dir-lock.js';
import { openDatabase } from '../../src/storage/database.js';
import type { CreationEvent, PgliteThread } from '../../src/storage/pglite-thread/pglite-proxy.js';
import { startPgliteThread } from '../../src/storage/pglite-thread/pglite-proxy.js';
import { tenants } from '../../src/storage/schema.js';
import { rejectionOf } from '../helpers/rejection-of.js';
import { migratedMemoryDatabase } from '../helpers/test-database.js';

describe('PGlite on its own thread: the raw client', () => {
  let thread: PgliteThread;

  beforeAll(async () => {
    thread = await startPgliteThread(null);
  });

  afterAll(async () => {
    await thread?.close();
  });

  it('answers a statement with parameters, in object and in array row mode', async () => {
    const q = 'select $1::int + 1 as n, $2::text as s';
    const objects = await thread.client.query(q, [41, 'fox']);
    expect(objects.rows).toEqual([{ n: 42, s: 'fox' }]);
    expect(objects.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
      ['n', types.INT4],
      ['s', types.TEXT],
    ]);
    const arrays = await thread.client.query(q, [1, 'dog'], { rowMode: 'array' });
    expect(arrays.rows).toEqual([[2, 'dog']]);
  });

  it("runs the caller's parsers on the main thread, on PostgreSQL's text of the value", async () => {
    const q = `select '2026-01-02 03:04:05+00'::timestamptz as t, null::timestamptz as z, 7 as n`;
    const seen: string[] = [];
    const parsed = await thread.client.query(q, [], {
      parsers: {
        [types.TIMESTAMPTZ]: (value: string) => {
          seen.push(value);
          return `parsed ${value}`;
        },
      },
    });
    expect(parsed.rows).toEqual([{ t: 'parsed 2026-01-02 03:04:05+00', z: null, n: 7 }]);
    expect(seen).toEqual(['2026-01-02 03:04:05+00']);
    const plain = await thread.client.query<{ t: Date }>(q);
    expect(plain.rows[0]?.t).toBeInstanceOf(Date);
    expect(plain.rows[0]?.t.toISOString()).toBe('2026-01-02T03:04:05.000Z');
  });

  it('round-trips bytes and JSON values', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const r = await thread.client.query<{ b: Uint8Array; j: unknown }>(
      'select $1::bytea as b, $2::jsonb as j',
      [bytes, JSON.stringify({ a: [1, 'two'] })],
    );
    expect(Buffer.from(r.rows[0]?.b ?? []).equals(bytes)).toBe(true);
    expect(r.rows[0]?.j).toEqual({ a: [1, 'two'] });
  });

  it('rejects a failed statement with PGlite’s own DatabaseError, fields and statement', async () => {
    const err = await rejectionOf(thread.client.query('selec 1', []));
    expect(err).toBeInstanceOf(messages.DatabaseError);
    const dbErr = err as messages.DatabaseError & { query?: string };
    expect(dbErr.message).toBe('syntax error at or near "selec"');
    expect(dbErr.code).toBe('42601');
    expect(dbErr.severity).toBe('ERROR');
    expect(dbErr.query).toBe('selec 1');
    // The thread is still serving after a failure.
    expect((await thread.client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it("says why a migration failed: the database's own reason, not the statement", async () => {
    const folder = mkdtempSync(join(tmpdir(), 'tollgate-migrations-'));
    try {
      mkdirSync(join(folder, 'meta'));
      writeFileSync(
        join(folder, 'meta', '_journal.json'),
        JSON.stringify({
          version: '7',
          dialect: 'postgresql',
          entries: [{ idx: 0, version: '7', when: 1, tag: '0000_broken', breakpoints: true }],
        }),
      );
      writeFileSync(
        join(folder, '0000_broken.sql'),
        '-- a comment first\nselect * from no_such_table;',
      );
      const err = await rejectionOf(thread.migrate(folder));
      expect(errorReason(err)).toBe('relation "no_such_table" does not exist');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('runs several statements with exec', async () => {
    const results = await thread.client.exec(
      'create temp table t_exec (n int); insert into t_exec values (1), (2); select sum(n)::int as s from t_exec',
    );
    expect(results.at(-1)?.rows).toEqual([{ s: 3 }]);
  });
});

describe('PGlite on its own thread: through Drizzle', () => {
  const database = migratedMemoryDatabase();

  const named = async (name: string) =>
    database().db.select().from(tenants).where(eq(tenants.name, name));

  it('commits a transaction that returns, with everything it wrote', async () => {
    const result = await database().db.transaction(async (tx) => {
      await tx.insert(tenants).values({ id: 'ten_commit_a', name: 'commit-a' });
      await tx.insert(tenants).values({ id: 'ten_commit_b', name: 'commit-b' });
      return 'done';
    });
    expect(result).toBe('done');
    expect((await named('commit-a')).length + (await named('commit-b')).length).toBe(2);
  });

  it('rolls back a transaction that throws, and rethrows the same error', async () => {
    const boom = new Error('caller failed');
    const err = await rejectionOf(
      database().db.transaction(async (tx) => {
        await tx.insert(tenants).values({ id: 'ten_rollback', name: 'rollback' });
        throw boom;
      }),
    );
    expect(err).toBe(boom);
    expect(await named('rollback')).toEqual([]);
  });

  it("rolls back on Drizzle's tx.rollback() and keeps a nested savepoint's siblings", async () => {
    await rejectionOf(
      database().db.transaction(async (tx) => {
        await tx.insert(tenants).values({ id: 'ten_explicit', name: 'explicit' });
        tx.rollback();
      }),
    );
    expect(await named('explicit')).toEqual([]);

    await database().db.transaction(async (tx) => {
      await tx.insert(tenants).values({ id: 'ten_outer', name: 'outer' });
      await rejectionOf(
        tx.transaction(async (inner) => {
          await inner.insert(tenants).values({ id: 'ten_inner', name: 'inner' });
          throw new Error('inner only');
        }),
      );
    });
    expect((await named('outer')).length).toBe(1);
    expect(await named('inner')).toEqual([]);
  });

  it('holds a statement from outside an open transaction until it ends, as in process', async () => {
    const order: string[] = [];
    let outside: Promise<unknown> | undefined;
    await database().db.transaction(async (tx) => {
      await tx.insert(tenants).values({ id: 'ten_held', name: 'held' });
      outside = database()
        .db.select({ n: count() })
        .from(tenants)
        .where(eq(tenants.name, 'held'))
        .then((rows) => {
          order.push('outside');
          return rows;
        });
      // Sent after the outside statement: had that one not waited, it would have answered first.
      await tx.execute(sql`select 1`);
      order.push('inside');
    });
    const rows = await outside;
    expect(order).toEqual(['inside', 'outside']);
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('rejects a constraint violation with the cause PGlite gives in process', async () => {
    await database().db.insert(tenants).values({ id: 'ten_unique', name: 'unique' });
    const err = await rejectionOf(
      database().db.insert(tenants).values({ id: 'ten_unique_2', name: 'unique' }),
    );
    const cause = (err as Error & { cause?: unknown }).cause;
    expect(cause).toBeInstanceOf(messages.DatabaseError);
    const dbErr = cause as messages.DatabaseError;
    expect(dbErr.code).toBe('23505');
    expect(dbErr.constraint).toBe('tenants_name_unique');
    expect(dbErr.message).toBe(
      'duplicate key value violates unique constraint "tenants_name_unique"',
    );
    expect(err.message).toContain('Failed query: insert into "tenants"');
  });

  it('rolls back a whole transaction when one of its statements fails', async () => {
    const err = await rejectionOf(
      database().db.transaction(async (tx) => {
        await tx.insert(tenants).values({ id: 'ten_partial', name: 'partial' });
        await tx.insert(tenants).values({ id: 'ten_partial', name: 'partial-again' });
      }),
    );
    expect((err as Error & { cause?: { code?: string } }).cause?.code).toBe('23505');
    expect(await named('partial')).toEqual([]);
    const after = await database().db.execute(sql`select 1 as ok`);
    expect((after as unknown as { rows: unknown[] }).rows).toEqual([{ ok: 1 }]);
  });
});

describe('PGlite on its own thread: lifecycle', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('flushes a file-backed database on close, releases its lock, and reopens with the data', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-thread-'));
    dirs.push(dataDir);
    const created: CreationEvent[] = [];
    const first = await openDatabase({ kind: 'pglite', dataDir }, (e) => created.push(e));
    const pgdata = join(dataDir, 'pgdata');
    expect(created).toEqual([
      {
        phase: 'start',
        pgdata,
        message: 'creating the embedded database (the first start of this data directory)',
      },
      { phase: 'done', pgdata, ms: expect.any(Number), message: expect.any(String) },
    ]);
    expect(created[1]?.message).toMatch(/^created the embedded database in \d+ ms$/);
    await first.migrate();
    await first.db.insert(tenants).values({ id: 'ten_kept', name: 'kept' });
    expect(() => lockDataDir(dataDir)).toThrow(DataDirBusyError);
    await first.close();
    await first.close();

    const second = await openDatabase({ kind: 'pglite', dataDir }, (e) => created.push(e));
    // An existing directory is opened as it is: nothing to create, nothing said.
    expect(created).toHaveLength(2);
    try {
      const rows = await second.db.select().from(tenants).where(eq(tenants.id, 'ten_kept'));
      expect(rows.map((r) => r.name)).toEqual(['kept']);
    } finally {
      await second.close();
    }
  });

  it('refuses a data directory that holds files but no database, changes nothing, and leaves it unlocked', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-thread-'));
    dirs.push(dataDir);
    const first = await openDatabase({ kind: 'pglite', dataDir });
    await first.migrate();
    await first.close();
    // A database whose PG_VERSION was lost: what it holds must not vanish under a new, empty one.
    const pgdata = join(dataDir, 'pgdata');
    rmSync(join(pgdata, 'PG_VERSION'));
    const before = readdirSync(pgdata).sort();
    const created: CreationEvent[] = [];
    const err = await rejectionOf(
      openDatabase({ kind: 'pglite', dataDir }, (e) => created.push(e)),
    );
    expect(err.message).toBe(
      `the embedded database in ${pgdata} is damaged or is not one: it holds ${before.length} entries but no PG_VERSION. ` +
        'Nothing was changed; restore the directory from a backup, or move it away to start with a new, empty database',
    );
    expect(created).toEqual([]);
    expect(readdirSync(pgdata).sort()).toEqual(before);
    expect(existsSync(join(pgdata, 'PG_VERSION'))).toBe(false);
    lockDataDir(dataDir)();
  });

  it('starts again a creation cut short, and opens what it made', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-thread-'));
    dirs.push(dataDir);
    // What a process killed while creating leaves: a half-made directory beside an empty pgdata.
    mkdirSync(join(dataDir, 'pgdata'));
    mkdirSync(join(dataDir, 'pgdata.creating', 'base'), { recursive: true });
    writeFileSync(join(dataDir, 'pgdata.creating', 'PG_VERSION'), '17\n');
    const handle = await openDatabase({ kind: 'pglite', dataDir });
    try {
      await handle.migrate();
      await handle.db.insert(tenants).values({ id: 'ten_fresh', name: 'fresh' });
      const rows = await handle.db.select().from(tenants).where(eq(tenants.id, 'ten_fresh'));
      expect(rows.map((r) => r.name)).toEqual(['fresh']);
    } finally {
      await handle.close();
    }
    expect(existsSync(join(dataDir, 'pgdata', 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(dataDir, 'pgdata.creating'))).toBe(false);
  });

  it('says which data directory it could not create, and why', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tollgate-thread-'));
    dirs.push(root);
    // A file where the data directory's parent should be: nothing can be made under it.
    writeFileSync(join(root, 'not-a-directory'), 'a file');
    const pgdata = join(root, 'not-a-directory', 'pgdata');
    const err = await rejectionOf(startPgliteThread(pgdata));
    expect(err.message).toMatch(
      new RegExp(
        `^could not create the embedded database in ${pgdata.replaceAll('/', '\\/')}: .*ENOTDIR`,
      ),
    );
    expect(existsSync(join(root, 'not-a-directory'))).toBe(true);
  });

  it('rejects every statement once closed, with a message that says so', async () => {
    const handle = await openDatabase({ kind: 'pglite', dataDir: null });
    await handle.ping();
    await handle.close();
    const err = await rejectionOf(handle.ping());
    expect(err.message).toMatch(/database thread has stopped/);
  });
});
