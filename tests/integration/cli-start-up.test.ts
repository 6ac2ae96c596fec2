import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateMasterKeyEntry } from '../../src/crypto/key-ring.js';
import { type CliRun, runCli } from '../helpers/tollgate-cli.js';

/** `tollgate serve` refusing a bad start-up: one message, a non-zero exit, nothing half done. */

const dirs: string[] = [];

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-'));
  dirs.push(dir);
  return dir;
}

function cli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return runCli(args, { LOG_LEVEL: 'info', ...env });
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('start-up configuration', () => {
  it('fails with one message naming every bad variable and a non-zero exit', async () => {
    const r = await cli(['serve'], {
      PORT: 'abc',
      DATABASE_URL: 'nonsense',
      UPSTREAM_TIMEOUT_MS: '-1',
    });
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toContain('PORT');
    expect(r.stderr).toContain('DATABASE_URL');
    expect(r.stderr).toContain('UPSTREAM_TIMEOUT_MS');
    expect(r.stderr.match(/Invalid configuration/g)).toHaveLength(1);
  });

  it('names the address and the settings when it cannot listen, and exits 1', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const r = await cli(['serve'], {
        DATABASE_URL: 'memory://',
        TOLLGATE_DATA_DIR: tempDataDir(),
        HOST: '127.0.0.1',
        PORT: String(port),
      });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(
        `could not listen on 127.0.0.1:${port} (HOST, PORT): listen EADDRINUSE`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('finds a taken port before it opens the database: a new data directory is left uncreated', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    const dataDir = join(tempDataDir(), 'data');
    try {
      const r = await cli(['serve'], { TOLLGATE_DATA_DIR: dataDir, PORT: String(port) });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(
        `tollgate: could not listen on 127.0.0.1:${port} (HOST, PORT): listen EADDRINUSE`,
      );
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(existsSync(dataDir), r.stderr).toBe(false);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('names where the database it cannot reach is, without the credentials, and exits 1', async () => {
    const r = await cli(['serve'], {
      DATABASE_URL: 'postgres://app:db-Secret9@127.0.0.1:1/tollgate',
      TOLLGATE_DATA_DIR: tempDataDir(),
      TOLLGATE_MASTER_KEYS: generateMasterKeyEntry(),
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(
      'could not connect to the database at 127.0.0.1:1/tollgate (DATABASE_URL): connect ECONNREFUSED',
    );
    expect(r.stderr).not.toContain('Secret9');
  });

  it('names a bad secret without its value, and shows a bad URL without its password', async () => {
    const r = await cli(['serve'], {
      METRICS_TOKEN: 'short-Secret1',
      DATABASE_URL: 'postgress://app:db-Secret2@db.internal/tollgate',
      REDIS_URL: 'redis://:redis@Secret3@cache internal:6379',
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('METRICS_TOKEN must be at least 16 characters');
    expect(r.stderr).toContain('(got "postgress://…@db.internal/tollgate")');
    expect(r.stderr).toContain('(got "redis://…@cache internal:6379")');
    expect(r.stderr).not.toMatch(/Secret\d/);
  });

  it('says where a routing file is not JSON without quoting it (it may hold an apiKey)', async () => {
    const dir = tempDataDir();
    const unquoted = join(dir, 'unquoted.json');
    writeFileSync(
      unquoted,
      '{"upstreams":{"a":{"baseURL":"https://a.test/v1","apiKey":kSecret1}}}',
    );
    const noComma = join(dir, 'no-comma.json');
    writeFileSync(
      noComma,
      '{\n  "upstreams": {\n    "a": { "baseURL": "https://a.test/v1" "apiKey": "kSecret2" }\n  }\n}\n',
    );
    for (const [file, where] of [
      [unquoted, 'an unexpected token'],
      [noComma, "Expected ',' or '}' after property value at line 3, column 43"],
    ] as const) {
      const r = await cli(['serve'], { TOLLGATE_CONFIG: file, DATABASE_URL: 'memory://' });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`TOLLGATE_CONFIG is not valid JSON: ${where}`);
      expect(r.stderr).not.toMatch(/kSecret/);
    }
  });
});
