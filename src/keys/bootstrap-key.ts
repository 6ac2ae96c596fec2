import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import type { Database } from '../storage/database.js';
import { apiKeys } from '../storage/schema.js';
import { createKey } from './key-admin.js';

/** The name of the key the first start creates; it marks a data directory as bootstrapped. */
export const BOOTSTRAP_KEY_NAME = 'bootstrap admin';

/** The command that gives an operator an admin key when the file is gone. */
export const ADMIN_KEY_HINT =
  "stop the server and run 'npx tollgate keys create --name admin --scopes chat,admin,analytics:read,analytics:content', " +
  'or call POST /admin/keys with an admin key while it runs';

/** What the start-up did about `<data dir>/admin.key`. */
export type BootstrapOutcome =
  /** This start created the key and wrote the file. */
  | { kind: 'created'; file: string }
  /** The file from an earlier start is still there. */
  | { kind: 'present'; file: string }
  /** The data directory was bootstrapped before and the file has since been removed. */
  | { kind: 'removed'; file: string };

/**
 * On the first start of an embedded data directory, creates one key with every scope and writes it
 * to `<data dir>/admin.key` (mode 0600), so a new user can call the gateway and its admin API without
 * stopping the single-process database to run the CLI. Keys made with the CLI before that first
 * start do not prevent it: only an earlier bootstrap key does, so a removed file is never silently
 * recreated. The key never goes to a log.
 */
export async function bootstrapAdminKey(db: Database, dataDir: string): Promise<BootstrapOutcome> {
  const file = join(dataDir, 'admin.key');
  if (existsSync(file)) return { kind: 'present', file };
  const earlier = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(eq(apiKeys.name, BOOTSTRAP_KEY_NAME))
    .limit(1);
  if (earlier.length > 0) return { kind: 'removed', file };
  const { key } = await createKey(
    db,
    { name: BOOTSTRAP_KEY_NAME, scopes: ['chat', 'admin', 'analytics:read', 'analytics:content'] },
    { actor: 'bootstrap' },
  );
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return { kind: 'created', file };
}
