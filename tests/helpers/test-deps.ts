import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import type { Deps, DepsOverrides } from '../../src/deps.js';
import { openDeps } from '../../src/deps.js';
import { createKey } from '../../src/keys/key-admin.js';
import type { KeySettings } from '../../src/keys/key-settings.js';
import { createLogger } from '../../src/runtime/logger.js';
import type { DatabaseHandle } from '../../src/storage/database.js';
import { openMigratedPglite } from './pglite-template.js';

/** A key created straight in the database, with its secret. */
export interface TestKey {
  key: string;
  id: string;
  tenantId: string;
}

/** Dependencies built for a test, with every log line they wrote. */
export interface TestDeps {
  deps: Deps;
  /** Every log line, as written. */
  logs: string[];
}

/** The environment every test gateway starts from; a test's own entries override it. */
export function testEnv(env: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: '0',
    TOLLGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'tollgate-test-')),
    DATABASE_URL: 'memory://',
    LOG_LEVEL: 'debug',
    UPSTREAM_API_KEY: 'sk-test-upstream-secret-0123456789',
    UPSTREAM_RETRY_BASE_MS: '5',
    UPSTREAM_RETRY_MAX_MS: '50',
    ...env,
  };
}

/**
 * Builds the real dependencies through `openDeps` (a private migrated PGlite unless env says
 * otherwise), with logs captured in memory and a fixed retry jitter.
 */
export async function openTestDeps(
  env: Record<string, string> = {},
  overrides: DepsOverrides = {},
): Promise<TestDeps> {
  const fullEnv = testEnv(env);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const config = loadConfig(fullEnv);
  // The default in-memory database starts as a copy of the migrated template.
  const database =
    overrides.database ??
    (fullEnv.DATABASE_URL === 'memory://' ? await openMigratedPglite() : undefined);
  const deps = await openDeps(config, fullEnv, {
    logger: createLogger(config.logLevel, sink),
    random: () => 0.5,
    ...overrides,
    database,
  }).catch(async (err: unknown) => {
    if (!overrides.database) await database?.close();
    throw err;
  });
  return { deps, logs };
}

/** Creates a key straight in the database (as the CLI does), defaults named 'test'. */
export async function createTestKey(deps: Deps, spec: Partial<KeySettings> = {}): Promise<TestKey> {
  const { key, row } = await createKey(deps.database.db, { name: 'test', ...spec });
  return { key, id: row.id, tenantId: row.tenantId };
}

/**
 * The same open database for one more set of dependencies: closing them leaves it open, so a
 * file can build several gateways on one migrated PGlite.
 */
export function lend(handle: DatabaseHandle): DatabaseHandle {
  return { ...handle, close: async () => {} };
}
