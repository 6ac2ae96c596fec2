import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import type { DepsOverrides } from '../../src/deps.js';
import { openDeps } from '../../src/deps.js';
import type { KeySpec } from '../../src/keys/key-admin.js';
import { createKey } from '../../src/keys/key-admin.js';
import type { RunningServer } from '../../src/main.js';
import { startServer } from '../../src/main.js';
import { createLogger } from '../../src/runtime/logger.js';

/** A gateway listening on a random port, with an in-memory database and captured logs. */
export interface TestGateway {
  baseURL: string;
  server: RunningServer;
  /** Every log line the gateway wrote. */
  logs: string[];
  createKey(spec?: Partial<KeySpec>): Promise<{ key: string; id: string; tenantId: string }>;
  stop(): Promise<void>;
}

/** Starts a real gateway (HTTP server) for tests; env entries override the defaults. */
export async function startTestGateway(
  env: Record<string, string> = {},
  overrides: DepsOverrides = {},
): Promise<TestGateway> {
  const fullEnv: Record<string, string> = {
    PORT: '0',
    TOLLGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'tollgate-test-')),
    DATABASE_URL: 'memory://',
    LOG_LEVEL: 'debug',
    UPSTREAM_API_KEY: 'sk-test-upstream-secret-0123456789',
    UPSTREAM_RETRY_BASE_MS: '5',
    UPSTREAM_RETRY_MAX_MS: '50',
    ...env,
  };
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const config = loadConfig(fullEnv);
  const deps = await openDeps(config, fullEnv, {
    logger: createLogger(config.logLevel, sink),
    random: () => 0.5,
    ...overrides,
  });
  const server = await startServer(deps);
  return {
    baseURL: `http://127.0.0.1:${server.port}`,
    server,
    logs,
    async createKey(spec = {}) {
      const { key, row } = await createKey(deps.database.db, { name: 'test', ...spec });
      return { key, id: row.id, tenantId: row.tenantId };
    },
    stop: () => server.stop(),
  };
}
