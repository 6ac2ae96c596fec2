import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterKeyEntry } from '../../src/crypto/key-ring.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import type { GatewayProcess } from '../helpers/gateway-process.js';
import { startGatewayProcess } from '../helpers/gateway-process.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { createPostgresDatabase } from '../helpers/test-database.js';
import { startTestGateway } from '../helpers/test-gateway.js';
import { TOLLGATE_CLI } from '../helpers/tollgate-cli.js';

const serverUrl = process.env.TEST_DATABASE_URL;
const redisUrl = process.env.TEST_REDIS_URL;

/** Runs `tollgate serve` to its end and returns its exit code and output. */
function serveUntilExit(
  env: Record<string, string>,
): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [...TOLLGATE_CLI, 'serve'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

describe('WORKERS on the embedded database', () => {
  it('refuses to start, saying why and what to set, and touches no data directory', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'tollgate-workers-'));
    const dataDir = join(parent, 'data');
    try {
      const { code, out } = await serveUntilExit({ WORKERS: '3', TOLLGATE_DATA_DIR: dataDir });
      expect(code).not.toBe(0);
      expect(out).toContain('WORKERS=3 needs DATABASE_URL (PostgreSQL)');
      expect(out).toContain('the embedded database can be opened by one process only');
      expect(out).toContain('WORKERS=3 needs REDIS_URL');
      expect(() => rmSync(dataDir)).toThrow(/ENOENT/);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!serverUrl || !redisUrl)('WORKERS=4 on PostgreSQL with Redis', () => {
  let upstream: FakeUpstream;
  let target: TestDatabaseTarget;
  let gateway: GatewayProcess;
  let limitedKeys: string[] = [];
  let plainKey: string;
  // The workers' outboxes go here, not into ./data of the checkout.
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-workers-'));

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    target = await createPostgresDatabase(serverUrl ?? '');
    const env = {
      UPSTREAM_BASE_URL: upstream.url,
      DATABASE_URL: target.target.kind === 'postgres' ? target.target.url : '',
      TOLLGATE_MASTER_KEYS: generateMasterKeyEntry('ci'),
      REDIS_URL: redisUrl ?? '',
      CACHE: 'off',
      TOLLGATE_DATA_DIR: dataDir,
    };
    // Keys are made by one in-process gateway on the same database, then it stops.
    const setup = await startTestGateway(env);
    limitedKeys = [
      (await setup.createKey({ rpm: 12 })).key,
      (await setup.createKey({ rpm: 12 })).key,
    ];
    plainKey = (await setup.createKey()).key;
    await setup.stop();
    gateway = await startGatewayProcess({ ...env, WORKERS: '4' }, /with 4 workers/);
  });

  afterAll(async () => {
    await gateway?.terminate();
    await upstream?.close();
    await target?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves from four processes and holds one exact limit across them', async () => {
    let statuses: number[] = [];
    // Limits count per one-minute window of the gateway's clock, this machine's: a batch that
    // ran across a window's end may rightly get more than one window's worth. Then the batch
    // runs again on a fresh key, from early in the next window (it takes seconds, not a minute).
    const windowOf = (ms: number) => Math.floor(ms / 60_000);
    for (const limitedKey of limitedKeys) {
      const startedAt = Date.now();
      statuses = [];
      // A fresh connection per request: the primary hands connections to the workers in turn.
      for (let i = 0; i < 30; i++) {
        const res = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${limitedKey}`,
            'content-type': 'application/json',
            connection: 'close',
          },
          body: JSON.stringify({
            model: 'gpt-4o-mini',
            messages: [{ role: 'user', content: `q${i}` }],
          }),
        });
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      if (windowOf(startedAt) === windowOf(Date.now())) break;
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(12);
    expect(statuses.filter((s) => s === 429)).toHaveLength(18);

    const servedBy = new Set(
      gateway
        .output()
        .split('\n')
        .filter((line) => line.includes('"route":"/v1/chat/completions"'))
        .map((line) => (JSON.parse(line) as { pid: number }).pid),
    );
    expect(servedBy.size).toBe(4);
  });

  it('answers the OpenAI SDK and sums every worker’s metrics on /metrics', async () => {
    const client = new OpenAI({ apiKey: plainKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const answers = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        client.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: `hello ${i}` }],
        }),
      ),
    );
    for (const answer of answers) expect(answer.choices[0]?.message.role).toBe('assistant');
    const text = await fetch(`${gateway.url}/metrics`).then((r) => r.text());
    const line = text
      .split('\n')
      .find((l) => l.startsWith('tollgate_ratelimit_rejections_total{reason="requests"}'));
    // Rejections happened on several workers; the scrape (answered by one of them) counts all 18.
    expect(line?.split(' ').at(-1)).toBe('18');
  });

  it('restarts a worker that dies, and SIGHUP kills nothing', async () => {
    // Each worker says it listens; the primary's own line ("… with 4 workers") is left out.
    const listening = () =>
      [...gateway.output().matchAll(/"pid":(\d+)[^\n]*Tollgate listening on [^\n]*/g)].filter(
        (m) => !m[0].includes('with 4 workers'),
      );
    const before = listening().length;
    const victim = Number(listening()[0]?.[1]);
    process.kill(victim, 'SIGKILL');
    gateway.child.kill('SIGHUP');
    await gateway.waitFor((out) => out.includes('a worker exited unexpectedly'));
    await gateway.waitFor((out) => out.includes('SIGHUP received and ignored'));
    await gateway.waitFor(() => listening().length > before);
    const pids = new Set(listening().map((m) => Number(m[1])));
    expect(pids.has(victim)).toBe(true);
    expect(pids.size).toBe(5);
    const res = await fetch(`${gateway.url}/healthz`);
    expect(res.status).toBe(200);
    expect(gateway.child.exitCode).toBeNull();
  });

  it('drains every worker on SIGTERM and exits 0', async () => {
    expect(await gateway.terminate()).toBe(0);
    expect(gateway.output()).toContain('shutting down: draining every worker');
  });
});
