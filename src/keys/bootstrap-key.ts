import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { count } from 'drizzle-orm';
import type { Database } from '../storage/database.js';
import { apiKeys } from '../storage/schema.js';
import { createKey } from './key-admin.js';

/**
 * On the first start of an embedded data directory (no key exists yet), creates one key with every
 * scope and writes it to `<data dir>/admin.key` (mode 0600), so a new user can call the gateway and
 * its admin API without stopping the single-process database to run the CLI. Returns the file path,
 * or null when nothing was created. The key never goes to a log.
 */
export async function bootstrapFirstKey(db: Database, dataDir: string): Promise<string | null> {
  const [row] = await db.select({ n: count() }).from(apiKeys);
  if ((row?.n ?? 0) > 0) return null;
  const file = join(dataDir, 'admin.key');
  if (existsSync(file)) return null;
  const { key } = await createKey(
    db,
    { name: 'bootstrap admin', scopes: ['chat', 'admin', 'analytics:read', 'analytics:content'] },
    { actor: 'bootstrap' },
  );
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return file;
}
