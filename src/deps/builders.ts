// The builders `openDeps` (src/deps.ts) runs, one per dependency: each builds its part from the
// config and registers how to release it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cutoffsAt } from '../analytics/row-retention.js';
import type { CacheStore } from '../cache/cache-store.js';
import { noopCacheStore } from '../cache/cache-store.js';
import { openDatabaseCacheStore } from '../cache/database-cache-store.js';
import { createEmbedder } from '../cache/embedders/create-embedder.js';
import type { Embedder } from '../cache/embedders/embedder.js';
import type { ModelEmbedder } from '../cache/embedders/model-embedder.js';
import type { Config } from '../config.js';
import type { KeyRing } from '../crypto/key-ring.js';
import { announceKeySource, loadKeyRing } from '../crypto/key-ring.js';
import type { TenantKeys } from '../crypto/tenant-keys.js';
import type { KeyVerifier } from '../keys/key-verifier.js';
import { createKeyVerifier } from '../keys/key-verifier.js';
import { createRedisKeyChangeBus } from '../keys/redis-key-change-bus.js';
import { openRateLimiter } from '../ratelimit/create-rate-limiter.js';
import type { RateLimiter } from '../ratelimit/rate-limiter.js';
import type { InsertRows } from '../recording/insert-setting-aside.js';
import { registerLogMetrics } from '../recording/log-metrics.js';
import type { Outbox } from '../recording/outbox.js';
import { openOutbox } from '../recording/outbox.js';
import type { InteractionRecorder } from '../recording/recorder.js';
import { createInteractionRecorder } from '../recording/recorder.js';
import { createThreadRowSealer, type RowSealer } from '../recording/row-sealer.js';
import type { InteractionWriter } from '../recording/writer.js';
import { createInteractionWriter } from '../recording/writer.js';
import type { Clock } from '../runtime/clock.js';
import { errorReason } from '../runtime/error-reason.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import type { Resources } from '../runtime/resources.js';
import type { ShutdownNotice } from '../runtime/shutdown-notice.js';
import { ThrottledWarning } from '../runtime/throttled-warning.js';
import type { DatabaseHandle } from '../storage/database.js';
import { openDatabase } from '../storage/database.js';
import { storeInteractions } from '../storage/queries/interactions.js';
import { verifyKeyRing } from '../tenants/tenant-keys.js';
import type { FetchFn } from '../upstream/pooled-fetch.js';
import { createPooledFetch, createUpstreamAgent } from '../upstream/pooled-fetch.js';
import { createRouter } from '../upstream/router.js';
import type { RoutingTable } from '../upstream/routing-config.js';
import { defaultRouting, parseRoutingConfig } from '../upstream/routing-config.js';
import type { Upstream } from '../upstream/upstream.js';

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
  /** Wraps the interaction log's stores (fault injection: a database or disk that fails). */
  logStores?: (stores: LogStores) => LogStores;
}

/** Where the interaction writer puts rows: the database insert and the outbox. */
export interface LogStores {
  insert: InsertRows;
  outbox: Outbox;
}

/** Enough for one timed-out database write and a spill of the rest to the outbox. */
const WRITER_CLOSE_TIMEOUT_MS = 15_000;
const KEY_USAGE_FLUSH_TIMEOUT_MS = 2_000;

/** Reads the routing table named by TOLLGATE_CONFIG, or the single default upstream. */
export function loadRouting(config: Config, env: Record<string, string | undefined>): RoutingTable {
  if (!config.routingFile) return defaultRouting(config.upstream.baseURL, config.upstream.apiKey);
  let text: string;
  try {
    text = readFileSync(config.routingFile, 'utf8');
  } catch (err) {
    throw new Error(
      `TOLLGATE_CONFIG file ${config.routingFile} cannot be read: ${errorReason(err)}`,
    );
  }
  return parseRoutingConfig(text, env);
}

/** What every builder takes: the config, the shared services, and where to register a close. */
export interface Building {
  config: Config;
  clock: Clock;
  logger: Logger;
  overrides: DepsOverrides;
  resources: Resources;
}

/** Loads the master keys, saying loudly where a new one was written. */
export function openKeyRing(config: Config, logger: Logger): KeyRing {
  const { ring, source } = loadKeyRing({
    masterKeys: config.masterKeys,
    database: config.database,
  });
  announceKeySource(logger, source);
  return ring;
}

/** Opens the database (or takes the given one), migrates it and checks the master keys fit it. */
export async function openMigratedDatabase(b: Building, keyRing: KeyRing): Promise<DatabaseHandle> {
  const database =
    b.overrides.database ??
    (await openDatabase(b.config.database, ({ message, ...event }) =>
      b.logger.info(event, message),
    ));
  b.resources.add('database', () => database.close());
  await database.migrate(({ message, ...event }) => b.logger.info(event, message));
  await verifyKeyRing(database.db, keyRing);
  return database;
}

/** The API key verifier; its last-used times are written once more on close. */
export function buildKeyVerifier(b: Building, database: DatabaseHandle): KeyVerifier {
  const { config, clock, logger, resources } = b;
  const redisUrl = config.rateLimit.redisUrl;
  const bus = redisUrl
    ? createRedisKeyChangeBus(redisUrl, (err) =>
        logger.warn({ reason: errorReason(err) }, 'key change bus: Redis failed'),
      )
    : undefined;
  if (bus) resources.add('key change bus', () => bus.close());
  // During an outage the lookups fail every second: one line per 10 s says so.
  const refreshFailures = new ThrottledWarning(logger, () => clock.monotonic(), 10_000);
  const keys = createKeyVerifier({
    db: database.db,
    clock,
    ttlMs: config.keyCacheTtlMs,
    staleWindowMs: config.keyStaleWindowMs,
    bus,
    onError: (err) =>
      refreshFailures.warn(
        { reason: errorReason(err) },
        'API key refresh failed; serving cached keys',
      ),
  });
  resources.add('key last-used flush', () => keys.flushUsage(), KEY_USAGE_FLUSH_TIMEOUT_MS);
  return keys;
}

/** The upstream router over a keep-alive connection pool (or Node's fetch, for the benchmark). */
export function buildUpstream(
  b: Building,
  routing: RoutingTable,
  shutdown: ShutdownNotice,
): { upstream: Upstream; fetch: FetchFn | undefined } {
  const { config, clock, overrides, resources } = b;
  const agent = createUpstreamAgent({
    connections: config.poolConnections,
    connectTimeoutMs: config.timeouts.connectMs,
  });
  resources.add('upstream connection pool', () => agent.close());
  const fetch: FetchFn | undefined =
    overrides.upstreamHttp === 'global' ? undefined : createPooledFetch(agent);
  const upstream = createRouter({
    routing,
    fetch,
    clock,
    timeouts: config.timeouts,
    retry: config.retry,
    shutdown,
    random: overrides.random,
  });
  resources.add('upstream router', () => upstream.close());
  return { upstream, fetch };
}

/** The configured rate limiter (Redis when REDIS_URL is set), or the one a test gives. */
export async function buildRateLimiter(b: Building, metrics: Metrics): Promise<RateLimiter> {
  const { config, clock, logger, overrides, resources } = b;
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
  resources.add('rate limiter', () => rateLimiter.close());
  return rateLimiter;
}

/**
 * The interaction log: outbox, writer, sealing thread and recorder. The sealer is built after the
 * writer so it closes first: rows it is still sealing reach the writer before the writer's last flush.
 */
export async function buildRecording(
  b: Building,
  parts: { database: DatabaseHandle; tenantKeys: TenantKeys; metrics: Metrics },
): Promise<{
  writer: InteractionWriter;
  recorder: InteractionRecorder;
  outbox: Outbox;
  sealer?: RowSealer;
}> {
  const { config, logger, overrides, resources } = b;
  const { database, tenantKeys } = parts;
  // Each worker of WORKERS=N has its own outbox: a segment is replayed by the process that wrote it.
  const outboxDir =
    config.workerSlot === undefined
      ? join(config.dataDir, 'outbox')
      : join(config.dataDir, 'outbox', `worker-${config.workerSlot}`);
  const stores: LogStores = {
    insert: (rows) => storeInteractions(database, rows),
    outbox: await openOutbox(outboxDir, (file, line) =>
      logger.error({ file, line }, 'outbox line cut short by a crash; skipped'),
    ),
  };
  const { insert, outbox } = overrides.logStores?.(stores) ?? stores;
  const writer = createInteractionWriter({
    insert,
    outbox,
    logger,
    batchSize: config.log.batchSize,
    maxQueue: config.log.maxQueue,
    clock: () => b.clock.monotonic(),
    retentionCutoffs: () => cutoffsAt(config.retention, b.clock.now()),
  });
  resources.add('interaction writer', () => writer.close(), WRITER_CLOSE_TIMEOUT_MS);
  registerLogMetrics(parts.metrics.registry, () => writer.metrics);
  // The sealing thread exists only when rows are recorded by the real recorder.
  if (overrides.recorder) return { writer, recorder: overrides.recorder, outbox };
  const sealer = createThreadRowSealer({ logger });
  resources.add('row sealing thread', () => sealer.close());
  return {
    writer,
    recorder: createInteractionRecorder({ tenantKeys, sealer, writer, logger }),
    outbox,
    sealer,
  };
}

/** The response cache: the database-backed store, or a no-op one when CACHE=off. */
export async function buildCache(
  b: Building,
  parts: {
    database: DatabaseHandle;
    tenantKeys: TenantKeys;
    fetch: FetchFn | undefined;
    /** The interaction log's sealing thread, which seals cache entries too (it closes after). */
    sealer: RowSealer | undefined;
  },
): Promise<CacheStore> {
  const { config, logger } = b;
  if (!config.cache.enabled) return noopCacheStore;
  // The lookup runs in memory and vectors are stored as plain bytes: semantic caching needs no
  // pgvector.
  const embedder = b.overrides.embedder ?? createEmbedder(config.embeddings, parts.fetch);
  const closeEmbedder = (embedder as Partial<ModelEmbedder>).close;
  if (closeEmbedder) b.resources.add('embedder', () => closeEmbedder());
  const cache = await openDatabaseCacheStore({
    db: parts.database.db,
    tenantKeys: parts.tenantKeys,
    embedder,
    clock: b.clock,
    logger,
    config: config.cache,
    ...(parts.sealer ? { sealer: parts.sealer } : {}),
    // The embedded database is opened by one process at a time: no other instance writes it.
    othersWrite: parts.database.kind === 'postgres',
    copyFrom: parts.database.copyFrom,
  });
  b.resources.add('cache', () => cache.close());
  return cache;
}

/** Values that must never appear in a response or log line: every upstream's API key. */
export function secretsOf(config: Config, routing: RoutingTable): string[] {
  return [
    ...routing.upstreams.flatMap((u) => (u.apiKey ? [u.apiKey] : [])),
    ...(config.embeddings.kind === 'upstream' && config.embeddings.apiKey
      ? [config.embeddings.apiKey]
      : []),
  ];
}
