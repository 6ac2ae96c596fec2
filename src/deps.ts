import { readFileSync } from 'node:fs';
import type { KeyVerifier } from './auth/key-verifier.js';
import { createKeyVerifier } from './auth/key-verifier.js';
import type { Config } from './config.js';
import type { Background } from './server/background.js';
import { createBackground } from './server/background.js';
import type { Clock } from './server/clock.js';
import { systemClock } from './server/clock.js';
import type { Logger } from './server/logger.js';
import { createLogger } from './server/logger.js';
import type { DatabaseHandle } from './storage/db.js';
import { openDatabase } from './storage/db.js';
import type { FetchFn } from './upstream/pooled-fetch.js';
import { createPooledFetch, createUpstreamAgent } from './upstream/pooled-fetch.js';
import { createRouter } from './upstream/router.js';
import type { RoutingTable } from './upstream/routing-config.js';
import { defaultRouting, parseRoutingConfig } from './upstream/routing-config.js';
import type { Upstream } from './upstream/upstream.js';

/** Everything the app needs, built once from config (or by a test). */
export interface Deps {
  config: Config;
  database: DatabaseHandle;
  keys: KeyVerifier;
  upstream: Upstream;
  routing: RoutingTable;
  clock: Clock;
  logger: Logger;
  background: Background;
  /** Values that must never appear in a response or log line (upstream keys). */
  secrets: readonly string[];
  /** Flipped by the server: false once it stops accepting requests. */
  readiness: { ready: boolean };
  close(): Promise<void>;
}

/** Test and benchmark knobs for openDeps; production passes none. */
export interface DepsOverrides {
  clock?: Clock;
  logger?: Logger;
  database?: DatabaseHandle;
  /** 'global' uses Node's fetch (for the overhead comparison); default is the pooled client. */
  upstreamHttp?: 'pooled' | 'global';
  random?: () => number;
}

/** Reads the routing table named by TOLLGATE_CONFIG, or the single default upstream. */
export function loadRouting(config: Config, env: Record<string, string | undefined>): RoutingTable {
  if (!config.routingFile) return defaultRouting(config.upstream.baseURL, config.upstream.apiKey);
  let text: string;
  try {
    text = readFileSync(config.routingFile, 'utf8');
  } catch (err) {
    throw new Error(
      `TOLLGATE_CONFIG file ${config.routingFile} cannot be read: ${(err as Error).message}`,
    );
  }
  return parseRoutingConfig(text, env);
}

/** Builds the real dependencies: database (migrated), key verifier, upstream router. */
export async function openDeps(
  config: Config,
  env: Record<string, string | undefined>,
  overrides: DepsOverrides = {},
): Promise<Deps> {
  const clock = overrides.clock ?? systemClock;
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const routing = loadRouting(config, env);
  const database = overrides.database ?? (await openDatabase(config.database));
  try {
    await database.migrate();
  } catch (err) {
    await database.close();
    throw err;
  }
  const background = createBackground((err) => logger.error({ err }, 'background task failed'));
  const agent = createUpstreamAgent({
    connections: config.poolConnections,
    connectTimeoutMs: config.timeouts.connectMs,
  });
  const fetch: FetchFn | undefined =
    overrides.upstreamHttp === 'global' ? undefined : createPooledFetch(agent);
  const upstream = createRouter({
    routing,
    fetch,
    clock,
    timeouts: config.timeouts,
    retry: config.retry,
    random: overrides.random,
  });
  const keys = createKeyVerifier({
    db: database.db,
    clock,
    ttlMs: config.keyCacheTtlMs,
    onError: (err) => logger.warn({ err }, 'key refresh failed'),
  });
  const usageTimer = setInterval(() => background.run(keys.flushUsage()), 30_000);
  usageTimer.unref();
  return {
    config,
    database,
    keys,
    upstream,
    routing,
    clock,
    logger,
    background,
    secrets: routing.upstreams.flatMap((u) => (u.apiKey ? [u.apiKey] : [])),
    readiness: { ready: true },
    async close() {
      clearInterval(usageTimer);
      await background.drain();
      await keys
        .flushUsage()
        .catch((err: unknown) => logger.warn({ err }, 'last_used_at flush failed'));
      await upstream.close();
      await agent.close();
      await database.close();
    },
  };
}
