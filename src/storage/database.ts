import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { CopySteps } from './binary-copy.js';
import { lockDataDir } from './data-dir-lock.js';
import type { MigrationProgress } from './migration-plan.js';
import { migrateWithProgress } from './migration-plan.js';
import type { PgliteThread } from './pglite-thread/pglite-proxy.js';
import { startPgliteThread } from './pglite-thread/pglite-proxy.js';
import { silentCloseOptions } from './postgres-socket.js';
import { rowsOf } from './rows-of.js';

import * as schema from './schema.js';

/** Where interactions, keys and tenants are stored. */
export type DatabaseTarget =
  | { kind: 'pglite'; dataDir: string | null }
  | { kind: 'postgres'; url: string };

/** The Drizzle database, whichever driver is behind it. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/**
 * Loads a binary COPY buffer with a `COPY … FROM` statement (the embedded database only), with
 * `steps` around it in one transaction when given.
 */
export type CopyFrom = (
  statement: string,
  data: Uint8Array<ArrayBuffer>,
  steps?: CopySteps,
) => Promise<void>;

/** An open database connection with its lifecycle. */
export interface DatabaseHandle {
  db: Database;
  kind: 'pglite' | 'postgres';
  /** Applies the committed migrations (idempotent), reporting which and how long to `progress`. */
  migrate(progress?: MigrationProgress): Promise<void>;
  /** True when the pgvector extension is installed in this database. */
  hasVector(): Promise<boolean>;
  /**
   * Loads a binary COPY buffer with `copy … from '/dev/blob'` (the embedded database only; null
   * on PostgreSQL).
   */
  copyFrom: CopyFrom | null;
  /** Cheap liveness probe. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The committed migrations folder, resolved from this file (works from src/ and dist/). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Opens the configured database: embedded PGlite (file or memory) or PostgreSQL via postgres.js. */
export async function openDatabase(target: DatabaseTarget): Promise<DatabaseHandle> {
  if (target.kind === 'postgres') return openPostgres(target.url);
  return openPglite(target.dataDir);
}

async function openPglite(dataDir: string | null): Promise<DatabaseHandle> {
  let release = () => {};
  let pgdata: string | null = null;
  if (dataDir !== null) {
    release = lockDataDir(dataDir);
    pgdata = join(dataDir, 'pgdata');
    mkdirSync(pgdata, { recursive: true });
  }
  // PGlite is WebAssembly in process: on its own thread, its work is not the event loop's.
  let thread: PgliteThread;
  try {
    thread = await startPgliteThread(pgdata);
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
    hasVector: () => hasVectorExtension(db),
    // Binary COPY: the batch crosses to the database thread as one buffer.
    copyFrom: async (statement, data, steps) => {
      await thread.copyFrom(statement, data, steps ?? null);
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

/**
 * postgres.js options every client of the gateway shares. `socket` is postgres.js's documented
 * custom-socket option (absent from its types): ours fails an attempt the server closed unanswered.
 */
function clientOptions(url: string, max: number) {
  return { max, onnotice: () => {}, connect_timeout: 10, ...silentCloseOptions(url) };
}

async function openPostgres(url: string): Promise<DatabaseHandle> {
  const client = postgres(url, { ...clientOptions(url, 10), idle_timeout: 60 });
  const db = drizzlePostgres({ client, schema }) as unknown as Database;
  return {
    db,
    kind: 'postgres',
    migrate: async (progress) => {
      // Several gateway processes may start together: one migrates at a time, on one session.
      const single = postgres(url, clientOptions(url, 1));
      try {
        await single`select pg_advisory_lock(7242011)`;
        const session = drizzlePostgres({ client: single, schema });
        await migrateWithProgress(
          session,
          MIGRATIONS_DIR,
          () => migratePostgres(session, { migrationsFolder: MIGRATIONS_DIR }),
          progress,
        );
      } finally {
        await single.end({ timeout: 5 });
      }
    },
    hasVector: () => hasVectorExtension(db),
    copyFrom: null,
    ping: async () => {
      await client`select 1`;
    },
    close: async () => {
      await client.end({ timeout: 5 });
    },
  };
}

async function hasVectorExtension(db: Database): Promise<boolean> {
  const result = await db.execute(sql`select 1 from pg_extension where extname = 'vector'`);
  return rowsOf(result).length > 0;
}
