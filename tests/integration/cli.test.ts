import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/database.js';
import { listAudit } from '../../src/storage/queries/audit-log.js';

const CLI = join(import.meta.dirname, '../../src/cli/main.ts');
const dirs: string[] = [];

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-'));
  dirs.push(dir);
  return dir;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
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
});

describe('tollgate keys', { timeout: 120_000 }, () => {
  it('creates a key printed alone on stdout, lists it without the secret, then revokes it', async () => {
    const env = { TOLLGATE_DATA_DIR: tempDataDir() };
    const created = await cli(
      [
        'keys',
        'create',
        '--name',
        'ci',
        '--scopes',
        'chat,admin',
        '--rpm',
        '60',
        '--models',
        'gpt-4o-mini',
      ],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^tg_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}$/);
    const secret = key.slice(16);

    const listed = await cli(['keys', 'list', '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    const keys = JSON.parse(listed.stdout) as {
      id: string;
      scopes: string[];
      rpm: number;
      revokedAt: string | null;
      allowedModels: string[];
    }[];
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({
      scopes: ['chat', 'admin'],
      rpm: 60,
      revokedAt: null,
      allowedModels: ['gpt-4o-mini'],
    });
    expect(listed.stdout + listed.stderr).not.toContain(secret);

    const id = keys[0]?.id ?? '';
    const revoked = await cli(['keys', 'revoke', id], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    const after = await cli(['keys', 'list'], env);
    expect(after.stdout).toContain('revoked');
  });

  it('writes an audit row with actor cli for keys create, update and revoke and tenants create, without the secret', async () => {
    const dataDir = tempDataDir();
    const env = { TOLLGATE_DATA_DIR: dataDir };
    const tenant = await cli(['tenants', 'create', 'audit-co'], env);
    expect(tenant.code, tenant.stderr).toBe(0);
    const created = await cli(
      ['keys', 'create', '--name', 'audited', '--tenant', 'audit-co', '--json'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const { key, id } = JSON.parse(created.stdout) as { key: string; id: string };
    const updated = await cli(['keys', 'update', id, '--rpm', '30'], env);
    expect(updated.code, updated.stderr).toBe(0);
    const revoked = await cli(['keys', 'revoke', id], env);
    expect(revoked.code, revoked.stderr).toBe(0);

    const handle = await openDatabase({ kind: 'pglite', dataDir });
    try {
      const rows = await listAudit(handle.db);
      const dump = JSON.stringify(rows);
      const actions = rows.map((r) => `${r.actor} ${r.action} ${r.targetId}`);
      expect(actions, dump).toEqual(
        expect.arrayContaining([
          `cli tenant.create ${tenant.stdout.trim()}`,
          `cli key.create ${id}`,
          `cli key.update ${id}`,
          `cli key.revoke ${id}`,
        ]),
      );
      expect(rows.find((r) => r.action === 'key.update')?.details, dump).toEqual({
        changes: { rpm: 30 },
      });
      expect(dump).not.toContain(key.slice(16));
    } finally {
      await handle.close();
    }
  });

  it('rejects a bad argument with one clear line and a non-zero exit', async () => {
    const env = { DATABASE_URL: 'memory://' };
    for (const args of [
      ['keys', 'create'],
      ['keys', 'create', '--name', 'x', '--rpm', 'lots'],
      ['keys', 'create', '--name', 'x', '--scopes', 'chat,root'],
      ['keys', 'create', '--name', 'x', '--expires-in', 'soon'],
      ['keys', 'frob'],
      ['frob'],
    ]) {
      const r = await cli(args, env);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).not.toBe(0);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(/^tollgate: /);
    }
  });

  it('says the embedded database is in use, and points to the admin API, while the server runs', async () => {
    const dataDir = tempDataDir();
    const server = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
      env: {
        PATH: process.env.PATH ?? '',
        TOLLGATE_DATA_DIR: dataDir,
        PORT: '0',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        let err = '';
        server.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          if (err.includes('Tollgate listening')) resolve();
        });
        server.on('exit', () => reject(new Error(`server exited: ${err}`)));
      });
      const r = await cli(['keys', 'list'], { TOLLGATE_DATA_DIR: dataDir });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('in use by another Tollgate process');
      expect(r.stderr).toContain('admin API');
    } finally {
      const exited = new Promise<number | null>((resolve) =>
        server.on('exit', (code) => resolve(code)),
      );
      server.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
