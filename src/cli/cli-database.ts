import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import type { DatabaseHandle, DatabaseTarget } from '../storage/database.js';
import { databaseLocation, openDatabase } from '../storage/database.js';

/** The command line acts as `cli` in the audit log. */
export const CLI_ACTOR = 'cli';

/** What makes a database: the gateway's first start, or `tollgate migrate`. */
const CREATE_HINT = "start the gateway once (npm start) or run 'tollgate migrate' to create it";

/**
 * The settings point where there is no Tollgate database: a mistyped TOLLGATE_DATA_DIR or
 * DATABASE_URL. Only `serve` and `migrate` create one; the other commands stop here, having
 * created nothing, rather than act on a new, empty database the gateway never reads.
 */
export class NoDatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoDatabaseError';
  }
}

function noDatabase(target: DatabaseTarget): NoDatabaseError {
  if (target.kind === 'postgres') {
    return new NoDatabaseError(
      `no Tollgate schema in the database at ${databaseLocation(target.url)} (DATABASE_URL); ${CREATE_HINT}`,
    );
  }
  if (target.dataDir === null) {
    return new NoDatabaseError(
      'DATABASE_URL=memory:// is a database inside the gateway process only: this command would act on a new, empty one, gone when it ends; use the admin API of the running gateway',
    );
  }
  return new NoDatabaseError(
    `no Tollgate database in ${target.dataDir} (TOLLGATE_DATA_DIR); ${CREATE_HINT}`,
  );
}

/** Whether `path` is missing or an empty directory (read only; a file is not empty). */
function missingOrEmpty(path: string): boolean {
  try {
    return readdirSync(path).length === 0;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/**
 * Refuses, before anything is opened, an embedded target that holds no database yet: opening it
 * would create the data directory and a database. Reads the file system only. A `pgdata` holding
 * files is left to the opening, which tells a damaged one apart from a database.
 */
export function refuseUncreatedDatabase(target: DatabaseTarget): void {
  if (target.kind !== 'pglite') return;
  if (target.dataDir === null || missingOrEmpty(join(target.dataDir, 'pgdata'))) {
    throw noDatabase(target);
  }
}

/**
 * Opens the existing database the server would use (same environment), migrates it if it is
 * behind, runs `fn` and closes it. A database that is not there yet, or holds no Tollgate schema,
 * is refused with nothing created (see NoDatabaseError). Called only once a command's arguments
 * are known to be good, so a bad one changes nothing.
 */
export async function withDatabase<T>(fn: (handle: DatabaseHandle) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  refuseUncreatedDatabase(config.database);
  const handle = await openDatabase(config.database);
  try {
    if (!(await handle.hasSchema())) throw noDatabase(config.database);
    await handle.migrate();
    return await fn(handle);
  } finally {
    await handle.close();
  }
}

/**
 * `tollgate migrate`: opens the database, creating it if it is new (and saying so, with where: a
 * mistyped TOLLGATE_DATA_DIR shows here), and migrates it.
 */
export async function migrateDatabase(): Promise<void> {
  const config = loadConfig(process.env);
  const handle = await openDatabase(config.database, (event) => {
    if (event.phase === 'done') {
      process.stderr.write(`Created a new embedded database in ${event.pgdata}.\n`);
    }
  });
  try {
    await handle.migrate();
  } finally {
    await handle.close();
  }
}
