import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string };
  stop_grace_period?: string;
  volumes?: string[];
}

const compose = parse(readFileSync(join(import.meta.dirname, '../../compose.yaml'), 'utf8')) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const { gateway, postgres, redis } = compose.services;

/** Compose's `${NAME:-default}` and `${NAME:?message}` with the given variables set. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(
    /\$\{(\w+)(?::([-?])([^}]*))?\}/g,
    (_m, name: string, op?: string, rest?: string) => {
      const set = vars[name];
      if (set !== undefined && set !== '') return set;
      if (op === '-') return rest ?? '';
      throw new Error(`${name} is required: ${rest ?? ''}`);
    },
  );
}

describe('compose.yaml', () => {
  it('runs the gateway, PostgreSQL with pgvector and Redis, each with a healthcheck', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['gateway', 'postgres', 'redis']);
    expect(postgres?.image).toMatch(/^pgvector\/pgvector:pg\d+$/);
    expect(redis?.image).toMatch(/^redis:/);
    expect(gateway?.build).toBe('.');
    for (const service of [gateway, postgres, redis]) {
      expect(service?.healthcheck?.test, JSON.stringify(service)).toBeDefined();
    }
    expect(gateway?.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
  });

  it('points the gateway at both services with the credentials PostgreSQL is given', () => {
    const env = gateway?.environment ?? {};
    const vars = { TOLLGATE_MASTER_KEYS: 'k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' };
    const database = new URL(interpolate(env.DATABASE_URL ?? '', vars));
    const pgEnv = postgres?.environment ?? {};
    expect(database.protocol).toBe('postgres:');
    expect(database.hostname).toBe('postgres');
    expect(database.port).toBe('5432');
    expect(database.username).toBe(pgEnv.POSTGRES_USER);
    expect(database.password).toBe(interpolate(pgEnv.POSTGRES_PASSWORD ?? '', vars));
    expect(database.pathname).toBe(`/${pgEnv.POSTGRES_DB}`);
    const cache = new URL(interpolate(env.REDIS_URL ?? '', vars));
    expect(`${cache.protocol}//${cache.host}`).toBe('redis://redis:6379');
  });

  it('gives the gateway an environment its config accepts, and refuses to start without a master key', () => {
    const env = gateway?.environment ?? {};
    const vars = { TOLLGATE_MASTER_KEYS: 'k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' };
    const resolved = Object.fromEntries(
      Object.entries(env).map(([name, value]) => [name, interpolate(String(value), vars)]),
    );
    const config = loadConfig(resolved);
    expect(config.database).toEqual({ kind: 'postgres', url: resolved.DATABASE_URL });
    expect(config.rateLimit.redisUrl).toBe('redis://redis:6379');
    expect(config.host).toBe('0.0.0.0');
    expect(() => interpolate(env.TOLLGATE_MASTER_KEYS ?? '', {})).toThrow(/TOLLGATE_MASTER_KEYS/);
  });

  it('lets the gateway finish its stop before Docker kills it', () => {
    // Docker's default is 10 s: a stream still draining, and the rows held in memory, were lost.
    const vars = { TOLLGATE_MASTER_KEYS: 'k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' };
    const env = Object.fromEntries(
      Object.entries(gateway?.environment ?? {}).map(([k, v]) => [k, interpolate(v, vars)]),
    );
    const grace = /^(\d+)s$/.exec(gateway?.stop_grace_period ?? '')?.[1];
    expect(Number(grace) * 1000).toBeGreaterThan(loadConfig(env).shutdownTimeoutMs);
  });

  it('keeps every stateful service on a named volume', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const named = (service.volumes ?? []).map((v) => v.split(':')[0]);
      expect(named.length, name).toBeGreaterThan(0);
      for (const volume of named) expect(Object.keys(compose.volumes)).toContain(volume);
    }
  });
});
