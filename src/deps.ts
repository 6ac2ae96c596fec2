import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import type { PriceTable } from './analytics/prices.js';
import { loadPriceTable } from './analytics/prices.js';
import type { Retention } from './analytics/retention.js';
import { createRetention } from './analytics/retention.js';
import { startRollups } from './analytics/rollups.js';
import type { CacheStore } from './cache/cache-store.js';
import { noopCacheStore } from './cache/cache-store.js';
import { openDatabaseCacheStore } from './cache/database-cache-store.js';
import type { Embedder } from './cache/embedders/embedder.js';
import { createLocalEmbedder } from './cache/embedders/local-embedder.js';
import { createUpstreamEmbedder } from './cache/embedders/upstream-embedder.js';
import type { Config, EmbeddingsConfig } from './config.js';
import type { KeyRing, KeyRingSource } from './crypto/key-ring.js';
import { loadKeyRing } from './crypto/key-ring.js';
import type { TenantKeys } from './crypto/tenant-keys.js';
import type { KeyVerifier } from './keys/key-verifier.js';
import { createKeyVerifier } from './keys/key-verifier.js';
import { openRateLimiter } from './ratelimit/create-rate-limiter.js';
import type { RateLimiter } from './ratelimit/rate-limiter.js';
import { registerLogMetrics } from './recording/log-metrics.js';
import { openOutbox } from './recording/outbox.js';
import type { InteractionRecorder } from './recording/recorder.js';
import { createInteractionRecorder } from './recording/recorder.js';
import type { RowSealer } from './recording/row-sealer.js';
import { createThreadRowSealer } from './recording/row-sealer.js';
import type { InteractionWriter } from './recording/writer.js';
import { createInteractionWriter } from './recording/writer.js';
import type { Background } from './runtime/background.js';
import { createBackground } from './runtime/background.js';
import type { Clock } from './runtime/clock.js';
import { systemClock } from './runtime/clock.js';
import type { Logger } from './runtime/logger.js';
import { createLogger } from './runtime/logger.js';
import type { Metrics } from './runtime/metrics.js';
import { createMetrics } from './runtime/metrics.js';
import { withTimeout } from './runtime/with-timeout.js';
import type { DatabaseHandle } from './storage/database.js';
import { openDatabase } from './storage/database.js';
import { storeInteractions } from './storage/queries/interactions.js';
import { createTenantKeys, verifyKeyRing } from './tenants/tenant-keys.js';
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
  rateLimiter: RateLimiter;
  metrics: Metrics;
  /** The response cache (a no-op one when CACHE=off). */
  cache: CacheStore;
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
  /** A limiter to use instead of the configured one. */
  rateLimiter?: RateLimiter;
  /** A recorder to use instead of the encrypting one (the benchmark's recording-off row). */
  recorder?: InteractionRecorder;
  /** Replaces the configured embedder of the semantic cache. */
  embedder?: Embedder;
}

/** How often expired cache entries are deleted and memory hit counts written. */
const CACHE_MAINTENANCE_INTERVAL_MS = 60_000;
/** How often queued cache writes are written and other instances' entries read. */
const CACHE_SYNC_INTERVAL_MS = 1_000;
/** How often pending log deltas are folded into the analytics rollups. */
const ROLLUP_INTERVAL_MS = 5_000;
const EMBEDDED_VACUUM_INTERVAL_MS = 60_000;
/** Tables whose rows are updated or deleted all the time (cache entries, rollups, their deltas). */
const EMBEDDED_VACUUM = sql.raw(
  'VACUUM cache_entries, interaction_rollup_pending, interaction_rollups_daily, interaction_histograms_daily',
);
/** The upstream embedder is on the request path of a cache miss: it must answer fast or not at all. */
const UPSTREAM_EMBEDDING_TIMEOUT_MS = 2_000;

/** Builds the configured embedder of the semantic cache. */
export function createEmbedder(config: EmbeddingsConfig, fetch?: FetchFn): Embedder {
  if (config.kind === 'local') return createLocalEmbedder();
  return createUpstreamEmbedder({
    baseURL: config.baseURL,
    apiKey: config.apiKey ?? '',
    model: config.model,
    dimensions: config.dimensions,
    timeoutMs: UPSTREAM_EMBEDDING_TIMEOUT_MS,
    maxRetries: 0,
    ...(fetch === undefined ? {} : { fetch }),
  });
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
    await database.migrate(({ message, ...event }) => logger.info(event, message));
    await verifyKeyRing(database.db, keyRing);
  } catch (err) {
    await database.close();
    throw err;
  }
  const outbox = await openOutbox(join(config.dataDir, 'outbox'), (file, line) =>
    logger.error({ file, line }, 'outbox line cut short by a crash; skipped'),
  );
  const writer = createInteractionWriter({
    insert: (rows) => storeInteractions(database, rows),
    outbox,
    logger,
    ...config.log,
  });
  if (outbox.pendingRows > 0) {
    logger.info({ rows: outbox.pendingRows }, 'replaying interaction rows left in the outbox');
    void writer.replayOutbox();
  }
  const tenantKeys = createTenantKeys({ db: database.db, ring: keyRing });
  // The sealing thread exists only when rows are recorded by the real recorder.
  let sealer: RowSealer | null = null;
  let recorder = overrides.recorder;
  if (!recorder) {
    sealer = createThreadRowSealer({ logger });
    recorder = createInteractionRecorder({ tenantKeys, sealer, writer, logger });
  }
  const metrics = createMetrics();
  registerLogMetrics(metrics.registry, () => writer.metrics);
  const rateLimiter =
    overrides.rateLimiter ??
    (await openRateLimiter({
      backend: config.rateLimit.redisUrl ? 'redis' : 'memory',
      redisUrl: config.rateLimit.redisUrl,
      failPolicy: config.rateLimit.failPolicy,
      timeoutMs: config.rateLimit.timeoutMs,
      clock: () => clock.now(),
      logger,
      onBackendError: (e) =>
        metrics.rateLimitBackendErrors.inc({
          operation: e.operation,
          policy: config.rateLimit.failPolicy,
        }),
    }));
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
  let cache: CacheStore = noopCacheStore;
  if (config.cache.enabled) {
    cache = await openDatabaseCacheStore({
      db: database.db,
      tenantKeys,
      embedder: overrides.embedder ?? createEmbedder(config.embeddings, fetch),
      clock,
      logger,
      config: config.cache,
    });
  }
  const cacheTimer = setInterval(
    () => background.run(() => cache.maintain()),
    CACHE_MAINTENANCE_INTERVAL_MS,
  );
  cacheTimer.unref();
  const cacheSyncTimer = setInterval(
    () => background.run(() => cache.flush().then(() => cache.sync())),
    CACHE_SYNC_INTERVAL_MS,
  );
  cacheSyncTimer.unref();
  const retention = createRetention({
    db: database.db,
    clock,
    logger,
    policy: config.retention,
  });
  retention.start(config.retention.intervalMs, (pass) => background.run(pass));
  const rollups = startRollups(database.db, logger, ROLLUP_INTERVAL_MS);
  // PGlite has no autovacuum: the tables rewritten all the time would only grow.
  const vacuumTimer =
    database.kind === 'pglite'
      ? setInterval(
          () => background.run(() => database.db.execute(EMBEDDED_VACUUM)),
          EMBEDDED_VACUUM_INTERVAL_MS,
        ).unref()
      : undefined;
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
    rateLimiter,
    metrics,
    cache,
    secrets: [
      ...routing.upstreams.flatMap((u) => (u.apiKey ? [u.apiKey] : [])),
      ...(config.embeddings.kind === 'upstream' && config.embeddings.apiKey
        ? [config.embeddings.apiKey]
        : []),
    ],
    prices,
    retention,
    readiness: { ready: true },
    async close() {
      clearInterval(usageTimer);
      clearInterval(cacheTimer);
      clearInterval(cacheSyncTimer);
      clearInterval(vacuumTimer);
      retention.stop();
      await rollups.stop();
      await background.drain();
      await cache
        .close()
        .catch((err: unknown) =>
          logger.warn({ reason: (err as Error).message.split('\n')[0] }, 'cache close failed'),
        );
      await sealer?.close();
      await writer.close();
      await rateLimiter.close();
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
