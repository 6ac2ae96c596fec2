import type { z } from 'zod';
import type { CacheConfig } from './cache/cache-config.js';
import type { EmbeddingsConfig } from './cache/embedders/create-embedder.js';
import type { PromptCacheKeyMode } from './cache/prompt-cache-key.js';
import type { CompressionMode } from './compression/compression-mode.js';
import { envSchema } from './config/env-schema.js';
import type { DatabaseTarget } from './storage/database.js';

/** The gateway's whole configuration, parsed from the environment. */
export interface Config {
  port: number;
  host: string;
  database: DatabaseTarget;
  dataDir: string;
  upstream: { baseURL: string; apiKey: string | undefined };
  routingFile: string | undefined;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  /** A bearer token that may read /metrics (and nothing else), so a scraper needs no admin key. */
  metricsToken: string | undefined;
  maxBodyBytes: number;
  /**
   * Browser origins allowed to call `/v1` cross-origin (CORS): `*` (any, as OpenAI's API allows),
   * a list of exact origins (lower case), or null (no CORS headers, preflights are 404s).
   */
  corsOrigins: '*' | readonly string[] | null;
  /**
   * Upstream timeouts: connect, first streamed chunk, silence between chunks, and the whole call
   * (every attempt of one client request together).
   */
  timeouts: { connectMs: number; firstTokenMs: number; idleMs: number; totalMs: number };
  /** How long a client may take to send its request body. */
  bodyTimeoutMs: number;
  /**
   * How long an idle client connection is kept open for its next request: longer than the idle
   * timeout of a load balancer in front (60 s on the common ones), so the gateway never closes a
   * connection the balancer is about to reuse (a 502 at the balancer).
   */
  keepAliveTimeoutMs: number;
  /** How long a streamed answer waits for a client that has stopped reading (its socket full). */
  clientStallMs: number;
  retry: { maxRetries: number; baseMs: number; maxMs: number };
  poolConnections: number;
  keyCacheTtlMs: number;
  /** How long a key read before the database stopped answering keeps working. */
  keyStaleWindowMs: number;
  shutdownTimeoutMs: number;
  /** Processes serving the port (node:cluster); more than one needs PostgreSQL and Redis. */
  workers: number;
  /** In a worker of WORKERS=N, its slot (0…N−1): it owns `<data dir>/outbox/worker-<slot>`. */
  workerSlot: number | undefined;
  /**
   * Admin and analytics calls while the database is down: how long the probe before each call
   * may take, and how long the whole call may wait on the database, before a 503.
   */
  adminDatabase: { probeTimeoutMs: number; requestTimeoutMs: number };
  /** `id:base64,…` from TOLLGATE_MASTER_KEYS (first = current), if set. */
  masterKeys: string | undefined;
  log: { batchSize: number; flushIntervalMs: number; maxQueue: number; retryIntervalMs: number };
  /** Default prompt compression (per key and per request it can be changed). */
  compression: CompressionMode;
  /**
   * `auto`: a request without `prompt_cache_key` gets one derived from its tenant and stable
   * prefix, so the provider's prompt cache hits more often; `off`: requests go as sent.
   */
  promptCacheKey: PromptCacheKeyMode;
  rateLimit: {
    /** Redis URL for limits shared by every instance; unset = this process only. */
    redisUrl: string | undefined;
    failPolicy: 'fail-open' | 'fail-closed';
    timeoutMs: number;
    /** Completion tokens reserved when a request sets no max_tokens. */
    defaultMaxTokens: number;
  };
  cache: CacheConfig;
  embeddings: EmbeddingsConfig;
  /** Optional JSON price table for cost estimates (TOLLGATE_PRICES); the built-in one otherwise. */
  pricesFile: string | undefined;
  /** Days after which stored text is erased / rows are deleted; unset keeps them forever. */
  retention: { contentDays: number | undefined; rowsDays: number | undefined; intervalMs: number };
}

/** Thrown when the environment is invalid; lists every bad variable at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment into a Config; pure, throws one ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(withoutEmptyValues(env));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.');
      const value = env[name];
      return `${name} ${issue.message}${value === undefined ? '' : shownValue(name, value)}`;
    });
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const database: DatabaseTarget =
    e.DATABASE_URL === undefined
      ? { kind: 'pglite', dataDir: e.TOLLGATE_DATA_DIR }
      : e.DATABASE_URL === 'memory://'
        ? { kind: 'pglite', dataDir: null }
        : { kind: 'postgres', url: e.DATABASE_URL };
  const workerProblems = workersProblems(e.WORKERS, database, e.REDIS_URL);
  if (workerProblems.length > 0) throw new ConfigError(workerProblems);
  return {
    port: e.PORT,
    host: e.HOST,
    database,
    dataDir: e.TOLLGATE_DATA_DIR,
    upstream: {
      baseURL: e.UPSTREAM_BASE_URL.replace(/\/+$/, ''),
      apiKey: e.UPSTREAM_API_KEY || e.OPENAI_API_KEY || undefined,
    },
    routingFile: e.TOLLGATE_CONFIG,
    logLevel: e.LOG_LEVEL,
    metricsToken: e.METRICS_TOKEN,
    corsOrigins: corsOriginsOf(e.CORS_ORIGINS),
    maxBodyBytes: e.MAX_BODY_BYTES,
    timeouts: {
      connectMs: e.UPSTREAM_CONNECT_TIMEOUT_MS,
      firstTokenMs: e.UPSTREAM_FIRST_TOKEN_TIMEOUT_MS,
      idleMs: e.UPSTREAM_IDLE_TIMEOUT_MS,
      totalMs: e.UPSTREAM_TIMEOUT_MS,
    },
    bodyTimeoutMs: e.REQUEST_BODY_TIMEOUT_MS,
    keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
    clientStallMs: e.CLIENT_STALL_TIMEOUT_MS,
    retry: {
      maxRetries: e.UPSTREAM_MAX_RETRIES,
      baseMs: e.UPSTREAM_RETRY_BASE_MS,
      maxMs: e.UPSTREAM_RETRY_MAX_MS,
    },
    poolConnections: e.UPSTREAM_POOL_CONNECTIONS,
    keyCacheTtlMs: e.KEY_CACHE_TTL_MS,
    keyStaleWindowMs: e.KEY_STALE_WINDOW_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    workers: e.WORKERS,
    workerSlot: e.TOLLGATE_WORKER_SLOT,
    adminDatabase: {
      probeTimeoutMs: e.DATABASE_PROBE_TIMEOUT_MS,
      requestTimeoutMs: e.ADMIN_REQUEST_TIMEOUT_MS,
    },
    masterKeys: e.TOLLGATE_MASTER_KEYS,
    log: {
      batchSize: e.LOG_BATCH_SIZE,
      flushIntervalMs: e.LOG_FLUSH_INTERVAL_MS,
      maxQueue: e.LOG_MAX_QUEUE,
      retryIntervalMs: e.LOG_RETRY_INTERVAL_MS,
    },
    compression: e.COMPRESSION,
    promptCacheKey: e.PROMPT_CACHE_KEY,
    rateLimit: {
      redisUrl: e.REDIS_URL,
      failPolicy: e.RATE_LIMIT_FAIL_POLICY,
      timeoutMs: e.RATE_LIMIT_TIMEOUT_MS,
      defaultMaxTokens: e.RATE_LIMIT_DEFAULT_MAX_TOKENS,
    },
    cache: {
      enabled: e.CACHE === 'on',
      ttlMs: cacheTtlMs(e.CACHE_TTL_S, e.RETENTION_CONTENT_DAYS, e.RETENTION_ROWS_DAYS),
      semanticThreshold: e.CACHE_SEMANTIC_THRESHOLD,
      maxEntriesPerTenant: e.CACHE_MAX_ENTRIES_PER_TENANT,
      memoryBytes: e.CACHE_MEMORY_MB * 1024 * 1024,
    },
    embeddings:
      e.EMBEDDINGS === 'local' || e.EMBEDDINGS === 'model'
        ? { kind: e.EMBEDDINGS }
        : {
            kind: 'upstream',
            model: e.EMBEDDINGS_MODEL,
            dimensions: e.EMBEDDINGS_DIMENSIONS,
            baseURL: (e.EMBEDDINGS_BASE_URL ?? e.UPSTREAM_BASE_URL).replace(/\/+$/, ''),
            apiKey: e.EMBEDDINGS_API_KEY || e.UPSTREAM_API_KEY || e.OPENAI_API_KEY || undefined,
          },
    pricesFile: e.TOLLGATE_PRICES,
    retention: {
      contentDays: e.RETENTION_CONTENT_DAYS,
      rowsDays: e.RETENTION_ROWS_DAYS,
      intervalMs: e.RETENTION_INTERVAL_MS,
    },
  };
}

/**
 * An entry's lifetime: `CACHE_TTL_S`, or less when retention keeps text for a shorter time. An
 * entry holds a question and its answer, so it goes when stored text does (the shorter window).
 */
function cacheTtlMs(
  ttlS: number,
  contentDays: number | undefined,
  rowsDays: number | undefined,
): number {
  const textDays = Math.min(contentDays ?? Infinity, rowsDays ?? Infinity);
  return Math.min(ttlS * 1_000, Math.ceil(textDays * 24 * 60 * 60 * 1_000));
}

/** Variables that hold secrets: a problem with one names it but never shows its value. */
const SECRET_VARIABLES: ReadonlySet<string> = new Set([
  'UPSTREAM_API_KEY',
  'OPENAI_API_KEY',
  'EMBEDDINGS_API_KEY',
  'METRICS_TOKEN',
  'TOLLGATE_MASTER_KEYS',
]);

/**
 * A bad value as a start-up error shows it: a secret only by its length, anything else without
 * what precedes an `@` (a URL's `user:password@`) or follows a `?` (a `?password=`), and cut to
 * 60 characters.
 */
function shownValue(name: string, value: string): string {
  if (SECRET_VARIABLES.has(name)) return ` (${value.length} characters, not shown)`;
  const query = value.indexOf('?');
  const bare = query === -1 ? value : `${value.slice(0, query)}?…`;
  const at = bare.lastIndexOf('@');
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(bare)?.[0] ?? '';
  const safe = at === -1 ? bare : `${scheme}…@${bare.slice(at + 1)}`;
  return ` (got ${JSON.stringify(safe.slice(0, 60))})`;
}

/**
 * The environment without its empty variables: `NAME=` (a copied .env.example, a compose file's
 * `${NAME:-}`) means unset, as it does to most tools, not the number 0 or an empty path.
 */
function withoutEmptyValues(
  env: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const present: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') present[name] = value;
  }
  return present;
}

/**
 * Several worker processes share one database and one set of limits: the embedded database is
 * opened by one process only, and per-process limits would each admit the key's whole limit.
 */
function workersProblems(
  workers: number,
  database: DatabaseTarget,
  redisUrl: string | undefined,
): string[] {
  if (workers === 1) return [];
  const problems: string[] = [];
  if (database.kind === 'pglite') {
    problems.push(
      `WORKERS=${workers} needs DATABASE_URL (PostgreSQL): the embedded database can be opened by one process only. Set DATABASE_URL=postgres://…, or WORKERS=1 (one process serves the embedded default).`,
    );
  }
  if (redisUrl === undefined) {
    problems.push(
      `WORKERS=${workers} needs REDIS_URL: the workers must share one rate limit per key (each process alone would admit the whole limit). Set REDIS_URL=redis://…, or WORKERS=1.`,
    );
  }
  return problems;
}

function corsOriginsOf(value: string): Config['corsOrigins'] {
  if (value === '*') return '*';
  if (value === 'off') return null;
  return value.split(',').map((o) => o.trim().toLowerCase());
}
