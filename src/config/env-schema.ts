import { isIP } from 'node:net';
import pg from 'pg';
import { z } from 'zod';
import { PROMPT_CACHE_KEY_MODES } from '../cache/prompt-cache-key.js';
import { COMPRESSION_MODES } from '../compression/compression-mode.js';

/**
 * What the environment may hold: every variable the gateway reads, its type, bounds and default
 * (zod). loadConfig in config.ts turns the parsed values into the Config the gateway runs on.
 */
const port = z.coerce
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(0, 'must be between 0 and 65535')
  .max(65535, 'must be between 0 and 65535');

const positiveInt = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .positive('must be positive')
    .default(fallback);

/**
 * Node's timers hold at most 2³¹−1 ms (about 24.8 days): a longer delay fires after 1 ms, so a
 * timeout set that high would end every request at once, and an interval would spin.
 */
const MAX_TIMER_MS = 2_147_483_647;

/** A duration in milliseconds that a timer waits for. */
const milliseconds = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .positive('must be positive')
    .max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} (about 24.8 days, the longest timer)`)
    .default(fallback);

/** Retention in days: at most 100,000 (about 273 years), so its cut-off is still a date. */
const retentionDays = z.coerce
  .number({ error: 'must be a number' })
  .positive('must be positive')
  .max(100_000, 'must be at most 100000')
  .optional();

const nonNegativeInt = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(0, 'must be zero or more')
    .default(fallback);

const databaseUrl = z
  .string()
  .trim()
  .refine((v) => v === 'memory://' || /^postgres(ql)?:\/\/.+/.test(v), {
    message: 'must be memory:// or a postgres:// URL',
  })
  .superRefine((v, ctx) => {
    if (!/^postgres(ql)?:\/\/.+/.test(v)) return;
    const unreadable = driverReadingFailure(v);
    if (unreadable !== null) {
      ctx.addIssue({
        code: 'custom',
        message: `is not a URL the PostgreSQL driver can read (${unreadable})`,
      });
    }
  })
  .optional();

/**
 * Why node-postgres cannot read a postgres:// URL (a port that is not a number, a bad escape),
 * or null: it parses the URL when a connection is made, and its own error (`Invalid URL`) names
 * no setting. Only the error's message is kept: never the URL, which may hold a password.
 */
function driverReadingFailure(url: string): string | null {
  try {
    new pg.Client({ connectionString: url });
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : 'unreadable';
  }
}

const httpUrl = z
  .string()
  .trim()
  .refine((v) => /^https?:\/\/[^\s]+$/.test(v), { message: 'must be an http(s) URL' });

/** A DNS host name: dot-separated labels of letters, digits, hyphens (and underscores, as some have). */
const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

/** The address the gateway listens on: an IP address or a host name (which must resolve). */
const host = z
  .string()
  .trim()
  .refine((v) => isIP(v) !== 0 || HOST_NAME.test(v), {
    message:
      'must be an IP address (IPv6 without brackets) or a host name, such as 127.0.0.1, 0.0.0.0, :: or localhost',
  });

/** A browser origin: scheme, host and optional port, nothing after. */
const ORIGIN = /^https?:\/\/[^\s/?#]+$/i;

export const envSchema = z.object({
  PORT: port.default(8787),
  HOST: host.default('127.0.0.1'),
  DATABASE_URL: databaseUrl,
  TOLLGATE_DATA_DIR: z.string().trim().min(1).default('./data'),
  UPSTREAM_BASE_URL: httpUrl.default('https://api.openai.com/v1'),
  UPSTREAM_API_KEY: z.string().optional(),
  OPENAI_API_KEY: z.string().optional(),
  TOLLGATE_CONFIG: z.string().trim().min(1).optional(),
  METRICS_TOKEN: z.string().trim().min(16, 'must be at least 16 characters').optional(),
  CORS_ORIGINS: z
    .string()
    .trim()
    .refine((v) => v === '*' || v === 'off' || v.split(',').every((o) => ORIGIN.test(o.trim())), {
      message:
        'must be *, off, or a comma-separated list of origins such as https://app.example.com',
    })
    .default('*'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAX_BODY_BYTES: positiveInt(8 * 1024 * 1024),
  UPSTREAM_CONNECT_TIMEOUT_MS: milliseconds(5_000),
  UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: milliseconds(20_000),
  UPSTREAM_IDLE_TIMEOUT_MS: milliseconds(30_000),
  UPSTREAM_TIMEOUT_MS: milliseconds(120_000),
  REQUEST_BODY_TIMEOUT_MS: milliseconds(30_000),
  KEEP_ALIVE_TIMEOUT_MS: milliseconds(65_000),
  CLIENT_STALL_TIMEOUT_MS: milliseconds(30_000),
  UPSTREAM_MAX_RETRIES: nonNegativeInt(2),
  UPSTREAM_RETRY_BASE_MS: milliseconds(250),
  UPSTREAM_RETRY_MAX_MS: milliseconds(8_000),
  UPSTREAM_POOL_CONNECTIONS: positiveInt(128),
  KEY_CACHE_TTL_MS: z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(0, 'must be zero or more')
    .max(5_000, 'must be at most 5000 (a revoked key must stop working within 5 s)')
    .default(2_000),
  KEY_STALE_WINDOW_MS: z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(0, 'must be zero or more')
    .max(30_000, 'must be at most 30000 (a key revoked elsewhere must stop within 30 s)')
    .default(30_000),
  SHUTDOWN_TIMEOUT_MS: milliseconds(30_000),
  WORKERS: z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(64, 'must be at most 64')
    .default(1),
  /** Set by the primary of WORKERS=N for each worker (0…N−1); a restarted worker keeps its slot. */
  TOLLGATE_WORKER_SLOT: z.coerce.number().int().min(0).max(63).optional(),
  DATABASE_PROBE_TIMEOUT_MS: milliseconds(1_500),
  ADMIN_REQUEST_TIMEOUT_MS: milliseconds(30_000),
  TOLLGATE_MASTER_KEYS: z.string().optional(),
  LOG_BATCH_SIZE: positiveInt(500),
  LOG_FLUSH_INTERVAL_MS: milliseconds(200),
  LOG_MAX_QUEUE: positiveInt(20_000),
  LOG_RETRY_INTERVAL_MS: milliseconds(1_000),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
    .optional(),
  RATE_LIMIT_FAIL_POLICY: z.enum(['fail-open', 'fail-closed']).default('fail-open'),
  RATE_LIMIT_TIMEOUT_MS: milliseconds(250),
  RATE_LIMIT_DEFAULT_MAX_TOKENS: positiveInt(1_024),
  COMPRESSION: z.enum(COMPRESSION_MODES).default('safe'),
  PROMPT_CACHE_KEY: z
    .enum(PROMPT_CACHE_KEY_MODES, { error: 'must be auto or off' })
    .default('auto'),
  CACHE: z.enum(['on', 'off'], { error: 'must be on or off' }).default('on'),
  CACHE_TTL_S: z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .positive('must be positive')
    .max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} (about 68 years)`)
    .default(3_600),
  CACHE_SEMANTIC_THRESHOLD: z.coerce
    .number({ error: 'must be a number' })
    .gt(0, 'must be above 0')
    .max(1, 'must be at most 1')
    .optional(),
  CACHE_MAX_ENTRIES_PER_TENANT: positiveInt(10_000),
  CACHE_MEMORY_MB: positiveInt(64),
  EMBEDDINGS: z
    .enum(['local', 'model', 'upstream'], { error: 'must be local, model or upstream' })
    .default('local'),
  EMBEDDINGS_MODEL: z.string().trim().min(1).default('text-embedding-3-small'),
  EMBEDDINGS_DIMENSIONS: positiveInt(1_536),
  EMBEDDINGS_BASE_URL: httpUrl.optional(),
  EMBEDDINGS_API_KEY: z.string().optional(),
  TOLLGATE_PRICES: z.string().trim().min(1).optional(),
  RETENTION_CONTENT_DAYS: retentionDays,
  RETENTION_ROWS_DAYS: retentionDays,
  RETENTION_INTERVAL_MS: milliseconds(60 * 60 * 1000),
});
