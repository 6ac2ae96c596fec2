import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePostgres } from 'drizzle-orm/node-postgres';
import { migrate as migratePostgres } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import type { CopyStatements, CopySteps } from './binary-copy.js';
import { lockDataDir } from './data-dir-lock.js';
import type { MigrationProgress } from './migration-plan.js';
import { hasAppliedMigrations, migrateWithProgress } from './migration-plan.js';
import type { PgliteThread } from './pglite-thread/pglite-proxy.js';
import { type CreationProgress, startPgliteThread } from './pglite-thread/pglite-proxy.js';
import { copyIntoPostgres } from './postgres-copy.js';
import { rowsOf } from './rows-of.js';

import * as schema from './schema.js';

/** Where interactions, keys and tenants are stored. */
export type DatabaseTarget =
  | { kind: 'pglite'; dataDir: string | null }
  | { kind: 'postgres'; url: string };

/** The Drizzle database, whichever driver is behind it. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/**
 * Loads a binary COPY buffer into a table with its COPY statement (with `steps` around it, in one
 * transaction, when given), storing the batch whole or not at all; fails with the database's own
 * error (its SQLSTATE on `code`) when the database refuses it.
 */
export type CopyFrom = (
  copy: CopyStatements,
  data: Uint8Array<ArrayBuffer>,
  steps?: CopySteps,
) => Promise<void>;

/** An open database connection with its lifecycle. */
export interface DatabaseHandle {
  db: Database;
  kind: 'pglite' | 'postgres';
  /** Applies the committed migrations (idempotent), reporting which and how long to `progress`. */
  migrate(progress?: MigrationProgress): Promise<void>;
  /**
   * True when the migrations have been applied here at least once (the Tollgate schema exists);
   * reads only, so a database that is not Tollgate's is left untouched.
   */
  hasSchema(): Promise<boolean>;
  /** True when the pgvector extension is installed in this database. */
  hasVector(): Promise<boolean>;
  /**
   * Loads a binary COPY buffer: on the embedded database with `copy … from '/dev/blob'` on its
   * thread; on PostgreSQL with `copy … from stdin` on a pooled connection.
   */
  copyFrom: CopyFrom;
  /** Cheap liveness probe. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The committed migrations folder, resolved from this file (works from src/ and dist/). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../drizzle', import.meta.url));

/**
 * Opens the configured database: embedded PGlite (file or memory) or PostgreSQL via node-postgres.
 * `progress` hears of the creation of a new embedded data directory (its start and its time).
 */
export async function openDatabase(
  target: DatabaseTarget,
  progress?: CreationProgress,
): Promise<DatabaseHandle> {
  if (target.kind === 'postgres') return openPostgres(target.url);
  return openPglite(target.dataDir, progress);
}

async function openPglite(
  dataDir: string | null,
  progress: CreationProgress | undefined,
): Promise<DatabaseHandle> {
  let release = () => {};
  let pgdata: string | null = null;
  if (dataDir !== null) {
    release = lockDataDir(dataDir);
    pgdata = join(dataDir, 'pgdata');
  }
  // PGlite is WebAssembly in process: on its own thread, its work is not the event loop's.
  let thread: PgliteThread;
  try {
    thread = await startPgliteThread(pgdata, progress);
  } catch (err) {
    release();
    throw err;
  }
  const db = drizzlePglite({
    client: thread.client as unknown as PGlite,
    schema,
  }) as unknown as Database;
  let closed = false;
  return {
    db,
    kind: 'pglite',
    migrate: (progress) =>
      migrateWithProgress(db, MIGRATIONS_DIR, () => thread.migrate(MIGRATIONS_DIR), progress),
    hasSchema: () => hasAppliedMigrations(db),
    hasVector: () => hasVectorExtension(db),
    // Binary COPY: the batch crosses to the database thread as one buffer.
    copyFrom: async (copy, data, steps) => {
      await thread.copyFrom(copy.fromBlob, data, steps ?? null);
    },
    ping: async () => {
      await thread.client.query('select 1');
    },
    close: async () => {
      if (closed) return;
      closed = true;
      // PGlite must be closed to flush its files; a killed process may leave the data dir dirty.
      try {
        await thread.close();
      } finally {
        release();
      }
    },
  };
}

/** How long closing waits for statements still running before it cuts their connections. */
const CLOSE_GRACE_MS = 5_000;

/**
 * The PostgreSQL connections of one handle: node-postgres settings they share, and their sockets,
 * so closing can cut the ones a hung statement holds.
 */
class PostgresConnections {
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly url: string) {}

  config(): pg.ClientConfig {
    return {
      connectionString: this.url,
      connectionTimeoutMillis: 10_000,
      // A server gone without a word is found by TCP keepalive probes from a minute of silence
      // (the system's default waits two hours).
      keepAlive: true,
      keepAliveInitialDelayMillis: 60_000,
      stream: () => {
        const socket = new net.Socket();
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
        return socket;
      },
    };
  }

  /** Ends every connection still open. */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}

/**
 * A connection that dies makes its client emit `error` (after failing whatever it was running):
 * with no listener, an idle client's error, or a checked-out one's between two statements of a
 * transaction, would end the process. The failure reaches the caller through its query; the pool
 * drops a client that is no longer queryable when it is released.
 */
function ignoreConnectionErrors(client: pg.Client | pg.PoolClient): void {
  client.on('error', () => {});
}

async function openPostgres(url: string): Promise<DatabaseHandle> {
  const connections = new PostgresConnections(url);
  const pool = new pg.Pool({ ...connections.config(), max: 10, idleTimeoutMillis: 60_000 });
  pool.on('connect', ignoreConnectionErrors);
  pool.on('error', () => {});
  const db = drizzlePostgres({ client: pool, schema }) as unknown as Database;
  let closing: Promise<void> | null = null;
  return {
    db,
    kind: 'postgres',
    migrate: async (progress) => {
      // Several gateway processes may start together: one migrates at a time, on one session.
      const single = new pg.Client(connections.config());
      ignoreConnectionErrors(single);
      try {
        await single.connect().catch((err: unknown) => {
          throw unreachableDatabase(url, err);
        });
        await single.query('select pg_advisory_lock(7242011)');
        const session = drizzlePostgres({ client: single, schema });
        await migrateWithProgress(
          session,
          MIGRATIONS_DIR,
          () => migratePostgres(session, { migrationsFolder: MIGRATIONS_DIR }),
          progress,
        );
      } finally {
        await single.end().catch(() => {});
      }
    },
    hasSchema: async () => {
      const client = await pool.connect().catch((err: unknown) => {
        throw unreachableDatabase(url, err);
      });
      try {
        return await hasAppliedMigrations(drizzlePostgres({ client }));
      } finally {
        client.release();
      }
    },
    hasVector: () => hasVectorExtension(db),
    copyFrom: (copy, data, steps) => copyIntoPostgres(pool, copy.fromStdin, data, steps),
    ping: async () => {
      await pool.query('select 1');
    },
    close: () => {
      closing ??= closeWithin(pool.end(), CLOSE_GRACE_MS, () => connections.destroyAll());
      return closing;
    },
  };
}

/**
 * The start-up's first connection failing, said with where it went (the URL's host, port and
 * database, never its user or password) and the setting that named it: the driver's own words
 * (`connect ECONNREFUSED 127.0.0.1:1`, `database "x" does not exist`) name neither.
 */
function unreachableDatabase(url: string, err: unknown): Error {
  const reason = err instanceof Error ? err.message : String(err);
  const where = databaseLocation(url);
  return new Error(`could not connect to the database at ${where} (DATABASE_URL): ${reason}`, {
    cause: err,
  });
}

/**
 * Where a PostgreSQL URL points, for a message: its host, port and database
 * (`db.internal:5432/tollgate`), never its user or password.
 */
export function databaseLocation(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${parsed.pathname || '/'}`;
  } catch {
    // A URL the driver read but URL cannot: the setting's name says enough.
    return 'the server DATABASE_URL names';
  }
}

/** Waits for `ended`; past `graceMs`, calls `cut` (which makes it settle) and waits on. */
async function closeWithin(ended: Promise<void>, graceMs: number, cut: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), graceMs);
    timer.unref();
  });
  try {
    if ((await Promise.race([ended, late])) === 'late') {
      cut();
      await ended;
    }
  } finally {
    clearTimeout(timer);
  }
}

async function hasVectorExtension(db: Database): Promise<boolean> {
  const result = await db.execute(sql`select 1 from pg_extension where extname = 'vector'`);
  return rowsOf(result).length > 0;
}
