import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, openDatabase } from '../../src/storage/database.js';
import { pendingMigrations } from '../../src/storage/migration-plan.js';
import { interactions } from '../../src/storage/schema.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { spawnGatewayProcess, startGatewayProcess } from '../helpers/gateway-process.js';

let upstream: FakeUpstream;
const dirs: string[] = [];

beforeAll(async () => {
  upstream = await startFakeUpstream();
});

afterAll(async () => {
  await upstream?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Whether the process `pid` still runs. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tollgate-signals-'));
  dirs.push(d);
  return d;
}

/** The interaction rows of a stopped gateway's data directory, by the client's request id. */
async function rowsIn(dir: string): Promise<(string | null)[]> {
  const handle = await openDatabase({ kind: 'pglite', dataDir: dir });
  try {
    const rows = await handle.db
      .select({ clientRequestId: interactions.clientRequestId, status: interactions.status })
      .from(interactions)
      .where(sql`${interactions.status} = 200`);
    return rows.map((r) => r.clientRequestId);
  } finally {
    await handle.close();
  }
}

describe('stop signals', { timeout: 180_000 }, () => {
  it('a second SIGTERM or a SIGINT while draining is logged and the drain goes on: the stream ends whole, its row is kept, exit 0', async () => {
    const dir = tempDir();
    const gw = await startGatewayProcess({
      TOLLGATE_DATA_DIR: dir,
      UPSTREAM_BASE_URL: upstream.url,
    });
    const key = readFileSync(join(dir, 'admin.key'), 'utf8').trim();
    const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    upstream.enqueue(sse(['one', ' two', ' three'], { pauseBefore: 2, pause: held }));
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'long one' }] },
      { headers: { 'x-request-id': 'draining-stream' } },
    );
    const chunks = stream[Symbol.asyncIterator]();
    expect((await chunks.next()).value?.choices[0]?.delta.role).toBe('assistant');

    const exit = gw.terminate();
    // Each line is awaited while the process lives: an exit first fails the test at once.
    const logged = async (text: string) => {
      const seen = gw.waitFor((out) => out.includes(text)).then(() => 'seen' as const);
      if ((await Promise.race([seen, exit])) !== 'seen') {
        throw new Error(`exited before logging "${text}":\n${gw.output()}`);
      }
    };
    await logged('shutting down: draining in-flight requests');
    gw.child.kill('SIGINT');
    await logged('SIGINT received while stopping (after SIGTERM)');
    gw.child.kill('SIGTERM');
    await logged('SIGTERM received while stopping (after SIGTERM)');
    release();

    let text = '';
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      text += next.value.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('one two three');
    expect(await exit, gw.output()).toBe(0);
    expect(await rowsIn(dir)).toEqual(['draining-stream']);
  });

  it('Ctrl-C (SIGINT to the whole process group) while a new data directory is being created: start-up finishes, exit 0, the directory is whole', async () => {
    const dir = tempDir();
    const gw = spawnGatewayProcess(
      { TOLLGATE_DATA_DIR: dir, UPSTREAM_BASE_URL: upstream.url, SHUTDOWN_TIMEOUT_MS: '600000' },
      { ownProcessGroup: true },
    );
    await gw.waitFor((out) => out.includes('creating the embedded database'));
    // The terminal's Ctrl-C reaches the process creating the directory too, not only the gateway.
    process.kill(-(gw.child.pid as number), 'SIGINT');
    expect(await gw.exited, gw.output()).toBe(0);
    expect(gw.output()).toContain('stopped before serving');
    const handle = await openDatabase({ kind: 'pglite', dataDir: dir });
    try {
      expect(await pendingMigrations(handle.db, MIGRATIONS_DIR)).toEqual([]);
    } finally {
      await handle.close();
    }
  }, 300_000);

  it('SIGTERM while a new data directory is being created: start-up finishes, nothing is served, exit 0, the directory is whole', async () => {
    const dir = tempDir();
    // A stop during start-up waits for the database up to SHUTDOWN_TIMEOUT_MS: far more than a
    // loaded machine's slowest first start (30 s was seen), so only the behaviour is tested.
    const gw = spawnGatewayProcess({
      TOLLGATE_DATA_DIR: dir,
      UPSTREAM_BASE_URL: upstream.url,
      SHUTDOWN_TIMEOUT_MS: '600000',
    });
    await gw.waitFor((out) => out.includes('creating the embedded database'));
    gw.child.kill('SIGTERM');
    expect(await gw.exited, gw.output()).toBe(0);
    const out = gw.output();
    expect(out).toContain('SIGTERM during start-up: stopping once the database is open');
    expect(out).toContain('stopped before serving');
    expect(out).not.toContain('Tollgate listening');
    // Nothing goes on writing in the directory once its gateway has exited: it is whole.
    expect(existsSync(join(dir, 'pgdata', 'PG_VERSION'))).toBe(true);
    const handle = await openDatabase({ kind: 'pglite', dataDir: dir });
    try {
      expect(await pendingMigrations(handle.db, MIGRATIONS_DIR)).toEqual([]);
    } finally {
      await handle.close();
    }
  }, 300_000);

  it.each([['start'], ['dev']])(
    'SIGTERM to `npm run %s` reaches the gateway: it drains and stops, and npm exits after it',
    async (script) => {
      // npm forwards the signal to the script's shell; a shell that waits for node instead of
      // becoming it dies of the signal and leaves the gateway running, unsignalled.
      const npm = spawn('npm', ['run', script], {
        cwd: join(import.meta.dirname, '../..'),
        env: {
          PATH: process.env.PATH ?? '',
          PORT: '0',
          LOG_LEVEL: 'info',
          DATABASE_URL: 'memory://',
          TOLLGATE_DATA_DIR: tempDir(),
          UPSTREAM_BASE_URL: upstream.url,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const listening = new Promise<number>((resolve) => {
        const grow = (d: Buffer) => {
          out += d.toString();
          const line = /^.*Tollgate listening.*$/m.exec(out)?.[0];
          if (line) resolve((JSON.parse(line) as { pid: number }).pid);
        };
        npm.stdout.on('data', grow);
        npm.stderr.on('data', grow);
      });
      const npmExited = new Promise<void>((resolve) => npm.on('exit', () => resolve()));
      const gateway = await Promise.race([
        listening,
        npmExited.then(() => {
          throw new Error(`npm run ${script} exited before listening:\n${out}`);
        }),
      ]);
      try {
        expect(gateway).not.toBe(npm.pid);
        npm.kill('SIGTERM');
        await npmExited;
        expect(alive(gateway), out).toBe(false);
        expect(out).toContain('"msg":"stopped"');
      } finally {
        if (alive(gateway)) process.kill(gateway, 'SIGKILL');
      }
    },
    300_000,
  );
});
