import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { KEY_CHANGES_CHANNEL } from '../../src/keys/redis-key-change-bus.js';
import { openDatabase } from '../../src/storage/database.js';
import { listAudit } from '../../src/storage/queries/audit-log.js';
import { deadPort } from '../helpers/fake-upstream.js';
import { templateDataDir } from '../helpers/pglite-template.js';
import { type CliRun, runCli, TOLLGATE_CLI } from '../helpers/tollgate-cli.js';

const redisUrl = process.env.TEST_REDIS_URL;
const PACKAGE = join(import.meta.dirname, '../../package.json');
const dirs: string[] = [];

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-'));
  dirs.push(dir);
  return dir;
}

/** A data directory already holding the migrated embedded database (a copy of the template). */
function migratedDataDir(): string {
  const dir = templateDataDir('tollgate-cli-');
  dirs.push(dir);
  return dir;
}

function cli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return runCli(args, { LOG_LEVEL: 'info', ...env });
}

/** Runs `work` over `items`, at most `size` at once, keeping the order. */
async function inBatches<T, R>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(...(await Promise.all(items.slice(i, i + size).map(work))));
  }
  return out;
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('tollgate keys', { timeout: 300_000 }, () => {
  it('creates a key printed alone on stdout, lists it without the secret, then revokes it', async () => {
    const env = { TOLLGATE_DATA_DIR: migratedDataDir() };
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
      object: string;
      scopes: string[];
      rpm: number;
      revoked_at: string | null;
      models: string[];
    }[];
    expect(keys).toHaveLength(1);
    expect(keys[0], listed.stdout).toMatchObject({
      object: 'api_key',
      scopes: ['chat', 'admin'],
      rpm: 60,
      revoked_at: null,
      models: ['gpt-4o-mini'],
    });
    expect(listed.stdout + listed.stderr).not.toContain(secret);

    const id = keys[0]?.id ?? '';
    const revoked = await cli(['keys', 'revoke', id], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    const after = await cli(['keys', 'list'], env);
    expect(after.stdout).toContain('revoked');
  });

  it('writes an audit row with actor cli for keys create, update and revoke and tenants create, without the secret', async () => {
    const dataDir = migratedDataDir();
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

  it("turns a key's cache off with --cache off and on with --cache on, shown as the admin API shows it", async () => {
    const env = { TOLLGATE_DATA_DIR: migratedDataDir() };
    const created = await cli(
      ['keys', 'create', '--name', 'quiet', '--cache', 'off', '--json'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; cache_enabled: boolean };
    expect(key.cache_enabled, created.stdout).toBe(false);

    const updated = await cli(['keys', 'update', key.id, '--cache', 'on', '--json'], env);
    expect(updated.code, updated.stderr).toBe(0);
    expect(JSON.parse(updated.stdout), updated.stdout).toMatchObject({
      id: key.id,
      cache_enabled: true,
    });
    const listed = await cli(['keys', 'list', '--json'], env);
    expect(JSON.parse(listed.stdout), listed.stdout).toMatchObject([
      { id: key.id, cache_enabled: true },
    ]);
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
    const dataDir = migratedDataDir();
    const server = spawn(process.execPath, [...TOLLGATE_CLI, 'serve'], {
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

describe.skipIf(!redisUrl)('tollgate keys with REDIS_URL set', { timeout: 300_000 }, () => {
  it("tells the running gateways through Redis of each key it updates or revokes, and of a forgotten tenant's keys", async () => {
    const subscriber = new Redis(redisUrl ?? '');
    const heard: string[] = [];
    const waiters: Array<() => void> = [];
    subscriber.on('message', (channel: string, publicId: string) => {
      if (channel !== KEY_CHANGES_CHANNEL) return;
      heard.push(publicId);
      for (const wake of waiters.splice(0)) wake();
    });
    const hearing = async (count: number) => {
      while (heard.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    };
    try {
      await subscriber.subscribe(KEY_CHANGES_CHANNEL);
      const env = { TOLLGATE_DATA_DIR: migratedDataDir(), REDIS_URL: redisUrl ?? '' };
      expect((await cli(['tenants', 'create', 'notice-co'], env)).code).toBe(0);
      const publicIds: string[] = [];
      for (const name of ['updated', 'revoked', 'forgotten']) {
        const created = await cli(
          ['keys', 'create', '--name', name, '--tenant', 'notice-co', '--json'],
          env,
        );
        expect(created.code, created.stderr).toBe(0);
        publicIds.push((JSON.parse(created.stdout) as { public_id: string }).public_id);
      }
      const [updated = '', revoked = '', forgotten = ''] = publicIds;
      const update = await cli(['keys', 'update', updated, '--rpm', '30'], env);
      expect(update.code, update.stderr).toBe(0);
      await hearing(1);
      const revoke = await cli(['keys', 'revoke', revoked], env);
      expect(revoke.code, revoke.stderr).toBe(0);
      await hearing(2);
      const forget = await cli(['tenants', 'forget', 'notice-co'], env);
      expect(forget.code, forget.stderr).toBe(0);
      // The forget revokes the two keys still live: the gateways hear of both.
      await hearing(4);
      expect(heard.slice(0, 2)).toEqual([updated, revoked]);
      expect(heard.slice(2).sort()).toEqual([updated, forgotten].sort());
    } finally {
      subscriber.disconnect();
    }
  });

  it('still revokes the key, with a warning, when Redis does not answer', async () => {
    const dataDir = migratedDataDir();
    const created = await cli(['keys', 'create', '--name', 'no-redis', '--json'], {
      TOLLGATE_DATA_DIR: dataDir,
    });
    const { id } = JSON.parse(created.stdout) as { id: string };
    const revoke = await cli(['keys', 'revoke', id], {
      TOLLGATE_DATA_DIR: dataDir,
      REDIS_URL: `redis://127.0.0.1:${await deadPort()}`,
    });
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stderr).toContain('could not tell the gateways through Redis');
    expect(revoke.stderr).toContain(`Revoked ${id}.`);
  });
});

describe('tollgate help and version', { timeout: 300_000 }, () => {
  const commands = [
    [],
    ['serve'],
    ['migrate'],
    ['keys'],
    ['keys', 'create'],
    ['keys', 'list'],
    ['keys', 'update'],
    ['keys', 'revoke'],
    ['keys', 'new-master'],
    ['keys', 'rotate-master'],
    ['tenants'],
    ['tenants', 'create'],
    ['tenants', 'list'],
    ['tenants', 'forget'],
    ['analysts'],
    ['analysts', 'grant'],
  ];

  it('answers --help on every command, and -h, with its own usage, exit 0, and acts on nothing', async () => {
    const asks = [
      ...commands.map((command) => [...command, '--help']),
      ['-h'],
      ['serve', '-h'],
      ['migrate', '-h'],
      ['keys', 'create', '-h'],
    ];
    // A few at a time: each is a process of its own on a machine that may be busy.
    const results = await inBatches(asks, 4, async (ask) => {
      const dataDir = tempDataDir();
      // Arguments that would make the command act, had it not been asked for help.
      const args = ask[1] === 'create' ? [...ask, '--name', 'acted'] : ask;
      const r = await cli(args, { TOLLGATE_DATA_DIR: dataDir });
      return { ask, r, left: readdirSync(dataDir) };
    });
    for (const { ask, r, left } of results) {
      const what = `${ask.join(' ')}: ${r.stdout}${r.stderr}`;
      const name = ask.slice(0, -1);
      expect(r.code, what).toBe(0);
      expect(r.stdout, what).toMatch(
        new RegExp(`^usage: tollgate ${name.length > 0 ? name.join(' ') : '<command>'}`),
      );
      expect(r.stdout, what).toContain('-h, --help');
      expect(r.stderr, what).toBe('');
      expect(left, `${what}: the data dir was touched`).toEqual([]);
    }
  }, 600_000);

  it("shows a subcommand's help with `tollgate help keys create`", async () => {
    const r = await cli(['help', 'keys', 'create'], { DATABASE_URL: 'memory://' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^usage: tollgate keys create --name N/);
  });

  it('prints the version from package.json with --version', async () => {
    const { version } = JSON.parse(readFileSync(PACKAGE, 'utf8')) as { version: string };
    const r = await cli(['--version'], {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
  });
});

describe('tollgate command-line mistakes', { timeout: 300_000 }, () => {
  it('names an unknown flag in its own words, with exit 2', async () => {
    const r = await cli(['keys', 'create', '--name', 'x', '--colour', 'blue'], {
      DATABASE_URL: 'memory://',
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      "tollgate: unknown flag --colour for 'tollgate keys create' (see tollgate keys create --help)\n",
    );
  });

  it('says which flag lacks a value, and which takes none', async () => {
    const env = { DATABASE_URL: 'memory://' };
    const noValue = await cli(['keys', 'create', '--name'], env);
    expect(noValue.code, noValue.stderr).toBe(2);
    expect(noValue.stderr).toBe('tollgate: --name needs a value (N)\n');
    const withValue = await cli(['keys', 'list', '--json=yes'], env);
    expect(withValue.code, withValue.stderr).toBe(2);
    expect(withValue.stderr).toBe('tollgate: --json takes no value\n');
  });

  it('accepts the documented keys new-master --id', async () => {
    const r = await cli(['keys', 'new-master', '--id', 'mk-2027'], {});
    expect(r.code, r.stderr).toBe(0);
    const [id, key = ''] = r.stdout.trim().split(':');
    expect(id, r.stdout).toBe('mk-2027');
    expect(Buffer.from(key, 'base64'), r.stdout).toHaveLength(32);
  });

  it('refuses what the admin API refuses (--expires-in 0s, a 300-character name) with exit 2, before touching the database', async () => {
    for (const [args, line] of [
      [
        ['keys', 'create', '--name', 'x', '--expires-in', '0s'],
        '--expires-in must be in the future',
      ],
      [
        ['keys', 'create', '--name', 'n'.repeat(300)],
        '--name must be a non-empty string of at most 200 characters',
      ],
      [
        ['keys', 'update', 'key_AAAAAAAAAAAA', '--name', 'n'.repeat(300)],
        '--name must be a non-empty string of at most 200 characters',
      ],
      [
        ['keys', 'create', '--name', 'x', '--rpm', '2147483648'],
        '--rpm must be a positive integer (at most 2147483647) or none',
      ],
      [['keys', 'create', '--name', 'x', '--cache', 'false'], '--cache must be on or off'],
      [['keys', 'update', 'key_AAAAAAAAAAAA', '--cache', 'yes'], '--cache must be on or off'],
      [
        ['tenants', 'create', 't'.repeat(300)],
        '<name> must be a non-empty string of at most 200 characters',
      ],
    ] as const) {
      const dataDir = tempDataDir();
      const r = await cli([...args], { TOLLGATE_DATA_DIR: dataDir });
      const what = `${args.join(' ').slice(0, 60)}: ${r.stderr}`;
      expect(r.code, what).toBe(2);
      expect(r.stderr, what).toBe(`tollgate: ${line}\n`);
      expect(readdirSync(dataDir), what).toEqual([]);
    }
  });
});
