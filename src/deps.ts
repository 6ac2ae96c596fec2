import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PriceTable } from './analytics/prices.js';
import { loadPriceTable } from './analytics/prices.js';
import type { KeyVerifier } from './auth/key-verifier.js';
import { createKeyVerifier } from './auth/key-verifier.js';
import type { Config } from './config.js';
import type { KeyRing, KeyRingSource } from './crypto/key-ring.js';
import { loadKeyRing } from './crypto/key-ring.js';
import type { TenantKeys } from './crypto/tenant-keys.js';
import { createTenantKeys, verifyKeyRing } from './crypto/tenant-keys.js';
import type { Background } from './server/background.js';
import { createBackground } from './server/background.js';
import type { Clock } from './server/clock.js';
import { systemClock } from './server/clock.js';
import type { Logger } from './server/logger.js';
import { createLogger } from './server/logger.js';
import { withTimeout } from './server/with-timeout.js';
import type { DatabaseHandle } from './storage/db.js';
import { openDatabase } from './storage/db.js';
import type { InteractionRecorder } from './storage/interaction-recorder.js';
import { createInteractionRecorder } from './storage/interaction-recorder.js';
import type { InteractionWriter } from './storage/interaction-writer.js';
import { createInteractionWriter } from './storage/interaction-writer.js';
import { openOutbox } from './storage/outbox.js';
import { insertInteractions } from './storage/queries/interactions.js';
import type { Retention } from './storage/retention.js';
import { createRetention } from './storage/retention.js';
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
  keyRing: KeyRing;
  tenantKeys: TenantKeys;
  writer: InteractionWriter;
  recorder: InteractionRecorder;
  /** Prices for the analytics cost estimates. */
  prices: PriceTable;
  /** Prunes old interaction text and rows (RETENTION_*_DAYS) on a timer. */
  retention: Retention;
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
  const prices = loadPriceTable(config.pricesFile);
  const { ring: keyRing, source } = loadKeyRing({
    masterKeys: config.masterKeys,
    database: config.database,
  });
  announceKeySource(logger, source);
  const database = overrides.database ?? (await openDatabase(config.database));
  try {
    await database.migrate();
    await verifyKeyRing(database.db, keyRing);
  } catch (err) {
    await database.close();
    throw err;
  }
  const outbox = await openOutbox(join(config.dataDir, 'outbox'), (file, line) =>
    logger.error({ file, line }, 'outbox line cut short by a crash; skipped'),
  );
  const writer = createInteractionWriter({
    insert: (rows) => insertInteractions(database.db, rows),
    outbox,
    logger,
    ...config.log,
  });
  if (outbox.pendingRows > 0) {
    logger.info({ rows: outbox.pendingRows }, 'replaying interaction rows left in the outbox');
    void writer.replayOutbox();
  }
  const tenantKeys = createTenantKeys({ db: database.db, ring: keyRing });
  const recorder = createInteractionRecorder({ tenantKeys, writer, logger });
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
    onError: (err) =>
      logger.warn(
        { reason: (err as Error).message.split('\n')[0] },
        'API key refresh failed; serving cached keys',
      ),
  });
  const usageTimer = setInterval(() => background.run(keys.flushUsage()), 30_000);
  usageTimer.unref();
  const retention = createRetention({
    db: database.db,
    clock,
    logger,
    policy: config.retention,
  });
  retention.start(config.retention.intervalMs, (pass) => background.run(pass));
  return {
    config,
    database,
    keys,
    upstream,
    routing,
    clock,
    logger,
    background,
    keyRing,
    tenantKeys,
    writer,
    recorder,
    prices,
    retention,
    secrets: routing.upstreams.flatMap((u) => (u.apiKey ? [u.apiKey] : [])),
    readiness: { ready: true },
    async close() {
      clearInterval(usageTimer);
      retention.stop();
      await background.drain();
      await writer.close();
      await withTimeout(keys.flushUsage(), 2_000, 'last_used_at flush timed out').catch(
        (err: unknown) =>
          logger.warn(
            { reason: (err as Error).message.split('\n')[0] },
            'last_used_at flush failed',
          ),
      );
      await upstream.close();
      await agent.close();
      await database.close();
    },
  };
}

function announceKeySource(logger: Logger, source: KeyRingSource): void {
  if (source.kind === 'file' && source.created) {
    logger.warn(
      { file: source.path },
      `GENERATED A NEW MASTER KEY at ${source.path}. Every stored prompt and response is encrypted under it: BACK IT UP NOW. Losing it makes the stored text unreadable; for production set TOLLGATE_MASTER_KEYS instead.`,
    );
  } else if (source.kind === 'ephemeral') {
    logger.warn(
      'Using a throw-away master key for the in-memory database: stored text lives only as long as this process.',
    );
  }
}
