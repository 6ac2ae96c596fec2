import type { PriceTable } from './analytics/prices.js';
import { loadPriceTable, priceRows } from './analytics/prices.js';
import type { Retention } from './analytics/retention.js';
import { createRetention } from './analytics/retention.js';
import type { CacheStore } from './cache/cache-store.js';
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
import type { TenantKeys } from './crypto/tenant-keys.js';
import {
  type Building,
  buildCache,
  buildKeyVerifier,
  buildRateLimiter,
  buildRecording,
  buildUpstream,
  type DepsOverrides,
  loadRouting,
  openKeyRing,
  openMigratedDatabase,
  secretsOf,
} from './deps/builders.js';
import type { KeyVerifier } from './keys/key-verifier.js';
import { LocalSlots } from './ratelimit/local-slots.js';
import type { RateLimiter } from './ratelimit/rate-limiter.js';
import type { InteractionRecorder } from './recording/recorder.js';
import type { InteractionWriter } from './recording/writer.js';
import type { Background } from './runtime/background.js';
import { createBackground } from './runtime/background.js';
import type { Clock } from './runtime/clock.js';
import { systemClock } from './runtime/clock.js';
import { InFlightRequests } from './runtime/in-flight.js';
import type { Logger } from './runtime/logger.js';
import { createLogger } from './runtime/logger.js';
import type { Metrics } from './runtime/metrics.js';
import { createMetrics } from './runtime/metrics.js';
import { packageVersion } from './runtime/package-version.js';
import { Resources } from './runtime/resources.js';
import { ShutdownNotice } from './runtime/shutdown-notice.js';
import type { Tracing } from './runtime/tracing.js';
import { createTracing } from './runtime/tracing.js';
import type { DatabaseHandle } from './storage/database.js';
import { replaceModelPrices } from './storage/queries/model-prices.js';
import { createTenantKeys } from './tenants/tenant-keys.js';
import type { RoutingTable } from './upstream/routing-config.js';
import { namedModels } from './upstream/routing-config.js';
import type { Upstream } from './upstream/upstream.js';
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

export type { DepsOverrides } from './deps/builders.js';

/** How long the background tasks may take to finish when the dependencies close. */
const BACKGROUND_DRAIN_TIMEOUT_MS = 10_000;

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
      outbox: recording.outbox,
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
