import { loadConfig } from '../config.js';
import type { DatabaseHandle } from '../storage/database.js';
import { openDatabase } from '../storage/database.js';

/** The command line acts as `cli` in the audit log. */
export const CLI_ACTOR = 'cli';

/**
 * Opens the database the server would use (same environment), migrates it, runs `fn` and closes
 * it. Called only once a command's arguments are known to be good, so a bad one changes nothing.
 */
export async function withDatabase<T>(fn: (handle: DatabaseHandle) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  const handle = await openDatabase(config.database);
  try {
    await handle.migrate();
    return await fn(handle);
  } finally {
    await handle.close();
  }
}
