import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

/** `.env.example` as `tollgate serve` reads a `.env` copied from it (Node's own parser). */
function envExample(): Record<string, string | undefined> {
  return parseEnv(readFileSync(new URL('../../.env.example', import.meta.url), 'utf8'));
}

describe('loadConfig', () => {
  it('defaults to the embedded database in ./data on 127.0.0.1:8787', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8787);
    expect(c.host).toBe('127.0.0.1');
    expect(c.database).toEqual({ kind: 'pglite', dataDir: './data' });
    expect(c.upstream.baseURL).toBe('https://api.openai.com/v1');
  });

  it('starts from a copy of .env.example with the defaults it shows, its empty values unset', () => {
    let config: ReturnType<typeof loadConfig> | undefined;
    let error: unknown;
    try {
      config = loadConfig(envExample());
    } catch (err) {
      error = err;
    }
    expect(error, String(error)).toBeUndefined();
    expect(config).toEqual(loadConfig({}));
  });

  it('reads an empty variable as unset, never as 0 or an empty name', () => {
    const c = loadConfig({
      PORT: '',
      UPSTREAM_MAX_RETRIES: '',
      KEY_CACHE_TTL_MS: ' ',
      TOLLGATE_CONFIG: '',
      TOLLGATE_PRICES: '',
      CACHE_SEMANTIC_THRESHOLD: '',
      LOG_LEVEL: '',
    });
    expect(c.port).toBe(8787);
    expect(c.retry.maxRetries).toBe(2);
    expect(c.keyCacheTtlMs).toBe(2_000);
    expect(c.routingFile).toBeUndefined();
    expect(c.pricesFile).toBeUndefined();
    expect(c.cache.semanticThreshold).toBeUndefined();
    expect(c.logLevel).toBe('info');
  });

  it('chooses in-memory PGlite or PostgreSQL from DATABASE_URL', () => {
    expect(loadConfig({ DATABASE_URL: 'memory://' }).database).toEqual({
      kind: 'pglite',
      dataDir: null,
    });
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).database).toEqual({
      kind: 'postgres',
      url: 'postgres://u@h/db',
    });
  });

  it('falls back to OPENAI_API_KEY for the upstream key', () => {
    expect(loadConfig({ OPENAI_API_KEY: 'sk-a' }).upstream.apiKey).toBe('sk-a');
    expect(loadConfig({ OPENAI_API_KEY: 'sk-a', UPSTREAM_API_KEY: 'sk-b' }).upstream.apiKey).toBe(
      'sk-b',
    );
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'abc',
        DATABASE_URL: 'nonsense',
        KEY_CACHE_TTL_MS: '60000',
        UPSTREAM_BASE_URL: 'ftp://x',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'KEY_CACHE_TTL_MS', 'UPSTREAM_BASE_URL'])
      expect(problems).toContain(name);
  });

  it('listens on an IP address or a host name, and names a HOST that is neither', () => {
    for (const host of ['0.0.0.0', '::', '::1', 'localhost', 'gateway.internal', 'my_service'])
      expect(loadConfig({ HOST: host }).host).toBe(host);
    for (const host of ['not a host', '[::1]', 'http://localhost', 'host:8787', '-dash.example']) {
      expect(() => loadConfig({ HOST: host }), host).toThrow(
        `HOST must be an IP address (IPv6 without brackets) or a host name, such as 127.0.0.1, 0.0.0.0, :: or localhost (got "${host}")`,
      );
    }
  });

  it('refuses a duration longer than a timer can wait, and dates no query can hold', () => {
    // Node fires a timer of more than 2^31-1 ms after 1 ms: every request would time out at once.
    const tooLong = '2147483648';
    const names = [
      'UPSTREAM_CONNECT_TIMEOUT_MS',
      'UPSTREAM_FIRST_TOKEN_TIMEOUT_MS',
      'UPSTREAM_IDLE_TIMEOUT_MS',
      'UPSTREAM_TIMEOUT_MS',
      'REQUEST_BODY_TIMEOUT_MS',
      'CLIENT_STALL_TIMEOUT_MS',
      'UPSTREAM_RETRY_BASE_MS',
      'UPSTREAM_RETRY_MAX_MS',
      'SHUTDOWN_TIMEOUT_MS',
      'DATABASE_PROBE_TIMEOUT_MS',
      'ADMIN_REQUEST_TIMEOUT_MS',
      'LOG_FLUSH_INTERVAL_MS',
      'LOG_RETRY_INTERVAL_MS',
      'RATE_LIMIT_TIMEOUT_MS',
      'RETENTION_INTERVAL_MS',
    ];
    const env = Object.fromEntries(names.map((name) => [name, tooLong]));
    let error: unknown;
    try {
      loadConfig({
        ...env,
        CACHE_TTL_S: '999999999999',
        RETENTION_ROWS_DAYS: '1e12',
        RETENTION_CONTENT_DAYS: '1e12',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    for (const name of [...names, 'CACHE_TTL_S', 'RETENTION_ROWS_DAYS', 'RETENTION_CONTENT_DAYS'])
      expect(problems.join('\n')).toContain(`${name} must be at most`);
    const longest = loadConfig({ ...Object.fromEntries(names.map((n) => [n, '2147483647'])) });
    expect(longest.shutdownTimeoutMs).toBe(2_147_483_647);
    expect(longest.timeouts.totalMs).toBe(2_147_483_647);
  });

  it('names a bad secret without showing it, and a URL without its password', () => {
    let error: unknown;
    try {
      loadConfig({
        METRICS_TOKEN: 'hunter2-short',
        DATABASE_URL: 'postgress://tollgate:pg-s3cret@db.internal:5432/tollgate',
        REDIS_URL: 'http://:redis-s3cret@cache.internal:6379',
        EMBEDDINGS_BASE_URL: 'ftp://user:emb-s3cret@embed.internal/v1',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['METRICS_TOKEN', 'DATABASE_URL', 'REDIS_URL', 'EMBEDDINGS_BASE_URL'])
      expect(message).toContain(name);
    for (const secret of ['hunter2', 'pg-s3cret', 'redis-s3cret', 'emb-s3cret', 'tollgate:'])
      expect(message).not.toContain(secret);
    expect(message).toContain('METRICS_TOKEN must be at least 16 characters (13 characters');
    expect(message).toContain('(got "postgress://…@db.internal:5432/tollgate")');
  });

  it('sets prompt cache keys unless PROMPT_CACHE_KEY=off, and names a bad value', () => {
    expect(loadConfig({}).promptCacheKey).toBe('auto');
    expect(loadConfig({ PROMPT_CACHE_KEY: 'off' }).promptCacheKey).toBe('off');
    expect(() => loadConfig({ PROMPT_CACHE_KEY: 'sometimes' })).toThrow(
      /PROMPT_CACHE_KEY must be auto or off \(got "sometimes"\)/,
    );
  });

  it('allows any origin for CORS unless CORS_ORIGINS says off or lists origins, and names a bad one', () => {
    expect(loadConfig({}).corsOrigins).toBe('*');
    expect(loadConfig({ CORS_ORIGINS: 'off' }).corsOrigins).toBeNull();
    expect(
      loadConfig({ CORS_ORIGINS: 'https://App.example.com, http://127.0.0.1:5173' }).corsOrigins,
    ).toEqual(['https://app.example.com', 'http://127.0.0.1:5173']);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://app.example.com/path' })).toThrow(
      /CORS_ORIGINS must be \*, off, or a comma-separated list of origins/,
    );
  });
});
