import type { DepsOverrides } from '../../src/deps.js';
import type { KeySettings } from '../../src/keys/key-settings.js';
import type { RunningServer } from '../../src/server.js';
import { startServer } from '../../src/server.js';
import type { TestKey } from './test-deps.js';
import { createTestKey, openTestDeps } from './test-deps.js';

/**
 * A gateway listening on a random port, with an in-memory database and captured logs. Use it only
 * where the socket matters (streams, disconnects, load, shutdown); `createTestApp` otherwise.
 */
export interface TestGateway {
  baseURL: string;
  server: RunningServer;
  /** Every log line the gateway wrote. */
  logs: string[];
  createKey(spec?: Partial<KeySettings>): Promise<TestKey>;
  stop(): Promise<void>;
}

/** Starts a real gateway (HTTP server) for tests; env entries override the defaults. */
export async function startTestGateway(
  env: Record<string, string> = {},
  overrides: DepsOverrides = {},
): Promise<TestGateway> {
  const { deps, logs } = await openTestDeps(env, overrides);
  const server = await startServer(deps).catch(async (err: unknown) => {
    await deps.close();
    throw err;
  });
  return {
    baseURL: `http://127.0.0.1:${server.port}`,
    server,
    logs,
    createKey: (spec = {}) => createTestKey(deps, spec),
    stop: () => server.stop(),
  };
}
