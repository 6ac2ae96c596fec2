import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PriceTable } from './analytics/prices.js';
import { loadPriceTable, priceRows } from './analytics/prices.js';
import type { Retention } from './analytics/retention.js';
import { createRetention } from './analytics/retention.js';
import type { CacheStore } from './cache/cache-store.js';
import { noopCacheStore } from './cache/cache-store.js';
import { openDatabaseCacheStore } from './cache/database-cache-store.js';
import { createEmbedder } from './cache/embedders/create-embedder.js';
import type { Embedder } from './cache/embedders/embedder.js';
import type { ModelEmbedder } from './cache/embedders/model-embedder.js';
import type { EmbeddingsCache } from './cache/embeddings-cache.js';
import { createEmbeddingsCache, noEmbeddingsCache } from './cache/embeddings-cache.js';
import type { Config } from './config.js';
import type { ConversationStore } from './conversations/conversation-store.js';
import { createConversationStore } from './conversations/conversation-store.js';
import type { ResponseStore } from './conversations/response-store.js';
import { createResponseStore } from './conversations/response-store.js';
import { createJsonSealer } from './conversations/sealed-json.js';
import { deriveSecret } from './crypto/derived-secret.js';
import type { KeyRing } from './crypto/key-ring.js';
import { announceKeySource, loadKeyRing } from './crypto/key-ring.js';
import type { TenantKeys } from './crypto/tenant-keys.js';
import type { KeyVerifier } from './keys/key-verifier.js';
import { createKeyVerifier } from './keys/key-verifier.js';
import { createRedisKeyChangeBus } from './keys/redis-key-change-bus.js';
import { openRateLimiter } from './ratelimit/create-rate-limiter.js';
import { LocalSlots } from './ratelimit/local-slots.js';
import type { RateLimiter } from './ratelimit/rate-limiter.js';
import { registerLogMetrics } from './recording/log-metrics.js';
import { openOutbox } from './recording/outbox.js';
import type { InteractionRecorder } from './recording/recorder.js';
import { createInteractionRecorder } from './recording/recorder.js';
import { createThreadRowSealer, type RowSealer } from './recording/row-sealer.js';
import type { InteractionWriter } from './recording/writer.js';
import { createInteractionWriter } from './recording/writer.js';
import type { Background } from './runtime/background.js';
import { createBackground } from './runtime/background.js';
import type { Clock } from './runtime/clock.js';
import { systemClock } from './runtime/clock.js';
import { errorReason } from './runtime/error-reason.js';
import { InFlightRequests } from './runtime/in-flight.js';
import type { Logger } from './runtime/logger.js';
import { createLogger } from './runtime/logger.js';
import type { Metrics } from './runtime/metrics.js';
import { createMetrics } from './runtime/metrics.js';
import { packageVersion } from './runtime/package-version.js';
import { Resources } from './runtime/resources.js';
import { ShutdownNotice } from './runtime/shutdown-notice.js';
import { ThrottledWarning } from './runtime/throttled-warning.js';
import type { Tracing } from './runtime/tracing.js';
import { createTracing } from './runtime/tracing.js';
import type { DatabaseHandle } from './storage/database.js';
import { openDatabase } from './storage/database.js';
import { storeInteractions } from './storage/queries/interactions.js';
import { replaceModelPrices } from './storage/queries/model-prices.js';
import { createTenantKeys, verifyKeyRing } from './tenants/tenant-keys.js';
import type { FetchFn } from './upstream/pooled-fetch.js';
import { createPooledFetch, createUpstreamAgent } from './upstream/pooled-fetch.js';
import { createRouter } from './upstream/router.js';
import type { RoutingTable } from './upstream/routing-config.js';
import { defaultRouting, namedModels, parseRoutingConfig } from './upstream/routing-config.js';
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
  /** Concurrency held in this process from authentication on (slow bodies included). */
  localSlots: LocalSlots;
  metrics: Metrics;
  /** Requests whose after-response work is not yet handed to `background` (see InFlightRequests). */
  inFlight: InFlightRequests;
  /** The stop's word to the requests still running when its drain ends (see ShutdownNotice). */
  shutdown: ShutdownNotice;
  /** The response cache (a no-op one when CACHE=off). */
  cache: CacheStore;
  /** Exact repeats of embeddings requests, in memory (a no-op one when CACHE=off). */
  embeddingsCache: EmbeddingsCache;
  /** Stored Responses API answers (`store`, `previous_response_id`), encrypted per tenant. */
  responseStore: ResponseStore;
  /** Conversations of the Conversations API, encrypted per tenant. */
  conversationStore: ConversationStore;
  /** Prices for the analytics cost estimates. */
  prices: PriceTable;
  /** OpenTelemetry tracing (off unless OTEL_EXPORTER_OTLP_ENDPOINT is set). */
  tracing: Tracing;
  /** Prunes old interaction text and rows (RETENTION_*_DAYS); the retention job runs it. */
  retention: Retention;
  /** Keys the HMAC of `prompt_cache_key`s the gateway sets; null when PROMPT_CACHE_KEY=off. */
  promptCacheSecret: Buffer | null;
  /** Values that must never appear in a response or log line (upstream keys). */
  secrets: readonly string[];
  /** Flipped by the server: false once it stops accepting requests. */
  readiness: { ready: boolean };
  /** Releases everything built, in the reverse of the build order. */
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

/** Close bounds of the slower steps (the rest use the default of Resources). */
const BACKGROUND_DRAIN_TIMEOUT_MS = 10_000;
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

/**
 * Builds the real dependencies. Each builder registers how to release what it built, so a
 * failure half way closes what exists and `close()` runs in the reverse of the build order.
 * Timers are not started here: `startJobs` owns them.
 */
export async function openDeps(
  config: Config,
  env: Record<string, string | undefined>,
  overrides: DepsOverrides = {},
): Promise<Deps> {
  const clock = overrides.clock ?? systemClock;
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const resources = new Resources(logger);
  const b: Building = { config, clock, logger, overrides, resources };
  try {
    const tracing = createTracing(env, packageVersion());
    // Registered first so it closes last: the spans of the final requests are sent.
    resources.add('tracing', () => tracing.shutdown());
    const routing = loadRouting(config, env);
    const prices = loadPriceTable(config.pricesFile);
    const keyRing = openKeyRing(config, logger);
    const database = await openMigratedDatabase(b, keyRing);
    // The analysts' views price their money columns from this copy of the table.
    await replaceModelPrices(database.db, priceRows(prices));
    const metrics = createMetrics(namedModels(routing));
    const background = createBackground((err) => logger.error({ err }, 'background task failed'));
    const keys = buildKeyVerifier(b, database);
    const shutdown = new ShutdownNotice();
    const { upstream, fetch } = buildUpstream(b, routing, shutdown);
    const rateLimiter = await buildRateLimiter(b, metrics);
    const tenantKeys = createTenantKeys({ db: database.db, ring: keyRing });
    const recording = await buildRecording(b, { database, tenantKeys, metrics });
    const { writer, recorder } = recording;
    const cache = await buildCache(b, { database, tenantKeys, fetch, sealer: recording.sealer });
    const sealer = createJsonSealer(tenantKeys);
    const responseStore = createResponseStore({ db: database.db, sealer });
    const conversationStore = createConversationStore({ db: database.db, sealer, clock });
    const retention = createRetention({
      db: database.db,
      clock,
      logger,
      policy: config.retention,
    });
    // Registered last so it closes first: tasks still in flight use everything built above.
    resources.add('background tasks', () => background.drain(), BACKGROUND_DRAIN_TIMEOUT_MS);
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
      localSlots: new LocalSlots(),
      metrics,
      inFlight: new InFlightRequests(metrics.requestsInFlight),
      shutdown,
      cache,
      embeddingsCache: config.cache.enabled
        ? createEmbeddingsCache({ maxBytes: config.cache.memoryBytes, ttlMs: config.cache.ttlMs })
        : noEmbeddingsCache,
      responseStore,
      conversationStore,
      secrets: secretsOf(config, routing),
      promptCacheSecret:
        config.promptCacheKey === 'auto'
          ? deriveSecret(keyRing.current, 'tollgate prompt_cache_key')
          : null,
      prices,
      retention,
      tracing,
      readiness: { ready: true },
      close: () => resources.close(),
    };
  } catch (err) {
    return resources.abandon(err);
  }
}

/** What every builder takes: the config, the shared services, and where to register a close. */
interface Building {
  config: Config;
  clock: Clock;
  logger: Logger;
  overrides: DepsOverrides;
  resources: Resources;
}

/** Loads the master keys, saying loudly where a new one was written. */
function openKeyRing(config: Config, logger: Logger): KeyRing {
  const { ring, source } = loadKeyRing({
    masterKeys: config.masterKeys,
    database: config.database,
  });
  announceKeySource(logger, source);
  return ring;
}

/** Opens the database (or takes the given one), migrates it and checks the master keys fit it. */
async function openMigratedDatabase(b: Building, keyRing: KeyRing): Promise<DatabaseHandle> {
  const database = b.overrides.database ?? (await openDatabase(b.config.database));
  b.resources.add('database', () => database.close());
  await database.migrate(({ message, ...event }) => b.logger.info(event, message));
  await verifyKeyRing(database.db, keyRing);
  return database;
}

/** The API key verifier; its last-used times are written once more on close. */
function buildKeyVerifier(b: Building, database: DatabaseHandle): KeyVerifier {
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
function buildUpstream(
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
async function buildRateLimiter(b: Building, metrics: Metrics): Promise<RateLimiter> {
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
async function buildRecording(
  b: Building,
  parts: { database: DatabaseHandle; tenantKeys: TenantKeys; metrics: Metrics },
): Promise<{ writer: InteractionWriter; recorder: InteractionRecorder; sealer?: RowSealer }> {
  const { config, logger, overrides, resources } = b;
  const { database, tenantKeys } = parts;
  // Each worker of WORKERS=N has its own outbox: a segment is replayed by the process that wrote it.
  const outboxDir =
    config.workerSlot === undefined
      ? join(config.dataDir, 'outbox')
      : join(config.dataDir, 'outbox', `worker-${config.workerSlot}`);
  const outbox = await openOutbox(outboxDir, (file, line) =>
    logger.error({ file, line }, 'outbox line cut short by a crash; skipped'),
  );
  const writer = createInteractionWriter({
    insert: (rows) => storeInteractions(database, rows),
    outbox,
    logger,
    batchSize: config.log.batchSize,
    maxQueue: config.log.maxQueue,
  });
  resources.add('interaction writer', () => writer.close(), WRITER_CLOSE_TIMEOUT_MS);
  registerLogMetrics(parts.metrics.registry, () => writer.metrics);
  // The sealing thread exists only when rows are recorded by the real recorder.
  if (overrides.recorder) return { writer, recorder: overrides.recorder };
  const sealer = createThreadRowSealer({ logger });
  resources.add('row sealing thread', () => sealer.close());
  return {
    writer,
    recorder: createInteractionRecorder({ tenantKeys, sealer, writer, logger }),
    sealer,
  };
}

/** The response cache: the database-backed store, or a no-op one when CACHE=off. */
async function buildCache(
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
function secretsOf(config: Config, routing: RoutingTable): string[] {
  return [
    ...routing.upstreams.flatMap((u) => (u.apiKey ? [u.apiKey] : [])),
    ...(config.embeddings.kind === 'upstream' && config.embeddings.apiKey
      ? [config.embeddings.apiKey]
      : []),
  ];
}
