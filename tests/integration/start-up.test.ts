import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TOLLGATE_CLI } from '../helpers/tollgate-cli.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The CLI run from `cwd` (where its .env is), with only the given environment. */
function tollgate(args: string[], cwd: string, env: Record<string, string>) {
  return spawn(process.execPath, [...TOLLGATE_CLI, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

function output(child: ChildProcessWithoutNullStreams) {
  const seen = { out: '', err: '' };
  child.stdout.on('data', (d: Buffer) => {
    seen.out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    seen.err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const waitFor = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => seen.err.includes(text) && resolve();
      child.stderr.on('data', check);
      child.on('exit', () => reject(new Error(`exited before '${text}': ${seen.err}`)));
      check();
    });
  return { seen, exited, waitFor };
}

describe('start-up of a new embedded data directory', () => {
  it('reads .env (the environment wins), writes admin.key after a CLI key, and survives SIGHUP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-start-'));
    dirs.push(dir);
    const dataDir = join(dir, 'data-from-dotenv');
    writeFileSync(join(dir, '.env'), `TOLLGATE_DATA_DIR=${dataDir}\nLOG_LEVEL=error\nPORT=1\n`);
    const env = { PORT: '0', LOG_LEVEL: 'info' };

    // Before the first start, keys need the database made first: only migrate (and serve) make it.
    const migrated = output(tollgate(['migrate'], dir, env));
    expect(await migrated.exited, migrated.seen.err).toBe(0);
    expect(migrated.seen.err).toContain(
      `Created a new embedded database in ${join(dataDir, 'pgdata')}`,
    );

    const created = tollgate(['keys', 'create', '--name', 'made before the first start'], dir, env);
    const made = output(created);
    expect(await made.exited, made.seen.err).toBe(0);
    expect(made.seen.out).toMatch(/^tg_\w+\n$/);

    const server = tollgate(['serve'], dir, env);
    const run = output(server);
    try {
      await run.waitFor('Tollgate listening');
      const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
      expect(adminKey).toMatch(/^tg_\w+$/);
      expect(run.seen.err).toContain(`read settings from ${join(dir, '.env')}`);
      // `tollgate migrate` applied the migrations; the server checks and says so.
      expect(run.seen.err).toContain('"msg":"database schema up to date');
      const port = Number(/"port":(\d+)/.exec(run.seen.err)?.[1]);
      expect(port).toBeGreaterThan(1);

      server.kill('SIGHUP');
      await run.waitFor('SIGHUP received and ignored');
      const health = await fetch(`http://127.0.0.1:${port}/admin/keys`, {
        headers: { authorization: `Bearer ${adminKey}` },
      });
      const body = await health.text();
      expect(health.status, body).toBe(200);
      expect(body).toContain('made before the first start');
    } finally {
      server.kill('SIGTERM');
    }
    expect(await run.exited, run.seen.err).toBe(0);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  }, 300_000);

  it('takes a request that arrives while the database is created, and answers it once ready', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-start-'));
    dirs.push(dir);
    // A port free a moment ago: the gateway's is needed before it says which it listens on.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const server = tollgate(['serve'], dir, {
      TOLLGATE_DATA_DIR: join(dir, 'data'),
      PORT: String(port),
      LOG_LEVEL: 'info',
    });
    const run = output(server);
    try {
      await run.waitFor('creating the embedded database');
      const early = await fetch(`http://127.0.0.1:${port}/readyz`);
      const body = await early.text();
      expect(early.status, body).toBe(200);
      // Not refused, and not answered before the gateway was ready (a 503 not_ready).
      expect(JSON.parse(body)).toEqual({ status: 'ready', database: 'pglite' });
      await run.waitFor('Tollgate listening');
    } finally {
      server.kill('SIGTERM');
    }
    expect(await run.exited, run.seen.err).toBe(0);
  }, 300_000);
});
