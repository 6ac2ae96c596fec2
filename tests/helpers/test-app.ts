import OpenAI from 'openai';
import { createApp } from '../../src/app.js';
import type { Deps, DepsOverrides } from '../../src/deps.js';
import type { KeySettings } from '../../src/keys/key-settings.js';
import type { RunningServer } from '../../src/server.js';
import { startServer } from '../../src/server.js';
import type { TestKey } from './test-deps.js';
import { createTestKey, openTestDeps } from './test-deps.js';

/** The Hono app `createApp` builds. */
export type App = ReturnType<typeof createApp>;

/** The origin in-process requests are addressed to; nothing listens there. */
export const TEST_APP_ORIGIN = 'http://tollgate.test';

/** The gateway app in process: requests go to `app.request()`, no socket, no server. */
export interface TestApp {
  app: App;
  deps: Deps;
  /** Every log line the gateway wrote. */
  logs: string[];
  /** Sends a request to the app, as `fetch` would over a socket; `path` may be a full URL. */
  request(path: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** An openai SDK client whose every call goes to the app in process. */
  openai(
    apiKey: string,
    options?: { maxRetries?: number; headers?: Record<string, string> },
  ): OpenAI;
  createKey(spec?: Partial<KeySettings>): Promise<TestKey>;
  /**
   * Also serves the same dependencies on a real socket (for streams and disconnects); returns its
   * base URL. `close()` then stops that server.
   */
  listen(): Promise<string>;
  /** Drains background work and closes the dependencies (as the server's stop does). */
  close(): Promise<void>;
}

/**
 * Builds real dependencies (in-memory PGlite unless `env` says otherwise, captured logs) and the
 * app from `createApp(deps)`; tests call it with `request()` or the SDK client from `openai()`.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  overrides: DepsOverrides = {},
): Promise<TestApp> {
  const { deps, logs } = await openTestDeps(env, overrides);
  const app = createApp(deps);
  let server: RunningServer | null = null;
  const request = async (path: string | URL | Request, init?: RequestInit) =>
    app.request(path, init);
  return {
    app,
    deps,
    logs,
    request,
    openai: (apiKey, options = {}) =>
      new OpenAI({
        apiKey,
        baseURL: `${TEST_APP_ORIGIN}/v1`,
        maxRetries: options.maxRetries ?? 0,
        defaultHeaders: options.headers,
        fetch: request,
      }),
    createKey: (spec = {}) => createTestKey(deps, spec),
    async listen() {
      server ??= await startServer(deps);
      return `http://127.0.0.1:${server.port}`;
    },
    async close() {
      if (server) return server.stop();
      deps.readiness.ready = false;
      await deps.close();
    },
  };
}
