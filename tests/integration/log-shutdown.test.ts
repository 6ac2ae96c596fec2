import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterKeyEntry } from '../../src/crypto/key-ring.js';
import { createKey } from '../../src/keys/key-admin.js';
import type { DatabaseHandle } from '../../src/storage/database.js';
import { openDatabase } from '../../src/storage/database.js';
import { interactions } from '../../src/storage/schema.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGatewayProcess } from '../helpers/gateway-process.js';
import type { LoadResult } from '../helpers/load.js';
import { runLoad } from '../helpers/load.js';
import { createProxiedPostgresDatabase } from '../helpers/test-database.js';

/** Resets allowed to the kernel's accept backlog when the port closes (see the drain test). */
const MAX_BACKLOG_RESETS = 3;

let upstream: FakeUpstream;
const dirs: string[] = [];

beforeAll(async () => {
  upstream = await startFakeUpstream();
  // A little upstream latency keeps requests in flight when the signal arrives.
  upstream.setFallback(async (req, res) => {
    await new Promise((r) => setTimeout(r, 15));
    json(200, completionFor(req.body))(req, res);
  });
});

afterAll(async () => {
  await upstream?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tollgate-term-'));
  dirs.push(d);
  return d;
}

/** A request's arrival at the fake upstream, to await. */
function arrival(): { seen: Promise<void>; arrived: () => void } {
  let arrived = () => {};
  const seen = new Promise<void>((resolve) => (arrived = resolve));
  return { seen, arrived };
}

/** What is left of a stream: the items still to come, and the error that ended it, if any. */
async function rest<T>(events: AsyncIterator<T>): Promise<{ items: T[]; failure: unknown }> {
  const items: T[] = [];
  try {
    for (let next = await events.next(); !next.done; next = await events.next()) {
      items.push(next.value);
    }
    return { items, failure: null };
  } catch (failure) {
    return { items, failure };
  }
}

/** The JSON lines of a gateway's log. */
function logLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function countRows(handle: DatabaseHandle, answered: LoadResult[]) {
  const ids = answered.map((r) => r.requestId ?? '');
  const [all] = await handle.db
    .select({ total: sql<number>`count(*)::int`, distinct: sql<number>`count(distinct id)::int` })
    .from(interactions);
  const [matching] = await handle.db
    .select({ n: sql<number>`count(*)::int` })
    .from(interactions)
    .where(sql`${interactions.id} in ${ids}`);
  return { total: all?.total, distinct: all?.distinct, matching: matching?.n };
}

describe('SIGTERM during load', { timeout: 180_000 }, () => {
  it('answers what it accepted, exits 0, and every answered request has exactly one row (PGlite)', async () => {
    const dir = tempDir();
    const gw = await startGatewayProcess({
      TOLLGATE_DATA_DIR: dir,
      UPSTREAM_BASE_URL: upstream.url,
    });
    const key = readFileSync(join(dir, 'admin.key'), 'utf8').trim();
    let exit: Promise<number | null> | null = null;
    const results = await runLoad({
      url: gw.url,
      key,
      total: 400,
      concurrency: 8,
      onProgress: (done) => {
        if (done === 120) exit = gw.terminate();
      },
    });
    expect(await exit, gw.output()).toBe(0);
    const answered = results.filter((r) => r.status !== 0);
    expect(answered.length).toBeGreaterThanOrEqual(120);
    expect(answered.every((r) => r.status === 200)).toBe(true);

    const handle = await openDatabase({ kind: 'pglite', dataDir: dir });
    try {
      const counted = await countRows(handle, answered);
      expect(counted).toEqual({
        total: answered.length,
        distinct: answered.length,
        matching: answered.length,
      });
    } finally {
      await handle.close();
    }
  });

  it('10: drains without resetting a keep-alive connection: a request is answered or finds the port closed', async () => {
    const dir = tempDir();
    const gw = await startGatewayProcess({
      TOLLGATE_DATA_DIR: dir,
      UPSTREAM_BASE_URL: upstream.url,
    });
    const key = readFileSync(join(dir, 'admin.key'), 'utf8').trim();
    let exit: Promise<number | null> | null = null;
    const results = await runLoad({
      url: gw.url,
      key,
      total: 600,
      concurrency: 16,
      onProgress: (done) => {
        if (done === 150) exit = gw.terminate();
      },
    });
    expect(await exit, gw.output()).toBe(0);
    const failures = results.filter((r) => r.status === 0).map((r) => r.error ?? '');
    const resets = failures.filter((e) => !e.includes('ECONNREFUSED'));
    // A connection the kernel had accepted but the process had not yet taken when the port closed
    // is reset by the kernel: a narrow race, rare but possible. Resetting keep-alive connections
    // with requests on the wire (as closing idle connections at once did) cost about 6 a run here.
    expect(
      resets.length,
      `${failures.length} failed: ${JSON.stringify(resets)}`,
    ).toBeLessThanOrEqual(MAX_BACKLOG_RESETS);
    expect(results.filter((r) => r.status !== 0).every((r) => r.status === 200)).toBe(true);
  });

  it('answers the requests still running when the drain ends 503 shutting_down (streams: a final error frame) and records them so', async () => {
    const dir = tempDir();
    // A 16 s stop leaves 8 s to drain and 8 s to answer what is left and close the dependencies:
    // of those, the requests the drain ends get 1 s to answer, their full share (a 4 s stop left
    // them 0.5 s, which a loaded machine could miss: a stream then ended without its error).
    const gw = await startGatewayProcess({
      TOLLGATE_DATA_DIR: dir,
      UPSTREAM_BASE_URL: upstream.url,
      SHUTDOWN_TIMEOUT_MS: '16000',
      UPSTREAM_RETRY_MAX_MS: '60000',
    });
    const key = readFileSync(join(dir, 'admin.key'), 'utf8').trim();
    const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const as = (clientId: string) => ({ headers: { 'x-request-id': clientId } });
    const model = 'gpt-4o-mini';
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const waiting = arrival();
    const retrying = arrival();
    upstream.enqueue(
      // Two streams paused after their first chunk, a call the upstream holds, and a call the
      // upstream asks to retry in 30 s: the gateway is waiting to retry when its drain ends.
      sse(['one', 'two'], { pauseBefore: 1, pause: held }),
      sse(['uno', 'dos'], { pauseBefore: 1, pause: held }),
      async (req, res) => {
        waiting.arrived();
        await held;
        if (!res.destroyed) json(200, completionFor(req.body))(req, res);
      },
      (req, res) => {
        retrying.arrived();
        json(
          503,
          { error: { message: 'busy', type: 'server_error' } },
          { 'retry-after': '30' },
        )(req, res);
      },
    );
    try {
      const chat = (
        await client.chat.completions.create(
          { model, stream: true, messages: [{ role: 'user', content: 'cut-stream' }] },
          as('cut-stream'),
        )
      )[Symbol.asyncIterator]();
      const firstChunk = await chat.next();
      expect(firstChunk.value?.choices[0]?.delta.role).toBe('assistant');
      const responses = (
        await client.responses.create(
          { model, input: 'cut-responses', stream: true },
          as('cut-responses'),
        )
      )[Symbol.asyncIterator]();
      expect((await responses.next()).value?.type).toBe('response.created');
      const call = (content: string) =>
        client.chat.completions
          .create({ model, messages: [{ role: 'user', content }] }, as(content))
          .catch((err: unknown) => err);
      const waitingCall = call('cut-waiting');
      await waiting.seen;
      const retryingCall = call('cut-retrying');
      await retrying.seen;

      const exit = gw.terminate();
      const chatRest = rest(chat);
      const responsesRest = rest(responses);
      expect(await exit, gw.output()).toBe(0);

      for (const answer of [await waitingCall, await retryingCall]) {
        expect(answer, String(answer)).toBeInstanceOf(OpenAI.APIError);
        const err = answer as InstanceType<typeof OpenAI.APIError>;
        expect({ status: err.status, code: err.code, type: err.type }).toEqual({
          status: 503,
          code: 'shutting_down',
          type: 'server_error',
        });
        expect(err.message).toContain('The gateway is shutting down; retry the request.');
        // The SDK retries it (maxRetries allowing), against another instance behind the balancer.
        expect(err.headers?.get('x-should-retry')).toBe('true');
      }
      const chatEnd = await chatRest;
      // Nothing more arrived after the first chunk: the stream ends with the error frame.
      expect(chatEnd.items).toEqual([]);
      expect(chatEnd.failure, String(chatEnd.failure)).toBeInstanceOf(OpenAI.APIError);
      expect((chatEnd.failure as InstanceType<typeof OpenAI.APIError>).code).toBe('shutting_down');
      const responsesEnd = await responsesRest;
      expect(responsesEnd.items.map((e) => e.type).at(-1)).toBe('response.failed');
      expect(responsesEnd.failure, String(responsesEnd.failure)).toBeInstanceOf(OpenAI.APIError);
      expect((responsesEnd.failure as InstanceType<typeof OpenAI.APIError>).code).toBe(
        'shutting_down',
      );
    } finally {
      release();
    }
    const handle = await openDatabase({ kind: 'pglite', dataDir: dir });
    try {
      const rows = await handle.db
        .select({
          id: interactions.id,
          clientRequestId: interactions.clientRequestId,
          status: interactions.status,
          errorCode: interactions.errorCode,
          cacheStatus: interactions.cacheStatus,
          provider: interactions.provider,
          usageEstimated: interactions.usageEstimated,
        })
        .from(interactions)
        .where(sql`${interactions.clientRequestId} like 'cut-%'`)
        .orderBy(interactions.clientRequestId);
      expect(
        rows.map(({ id: _id, ...row }) => row),
        gw.output(),
      ).toEqual(
        ['cut-responses', 'cut-retrying', 'cut-stream', 'cut-waiting'].map((clientRequestId) => ({
          clientRequestId,
          status: 503,
          errorCode: 'shutting_down',
          cacheStatus: 'miss',
          // The provider was asked, whether it had begun to answer (streams) or not (JSON).
          provider: 'default',
          // Streams cut after their first chunk: their usage is the gateway's estimate.
          usageEstimated:
            clientRequestId.endsWith('-stream') || clientRequestId.endsWith('-responses'),
        })),
      );
      // The access log says the stop ended them, not that an upstream failed.
      const lines = logLines(gw.output());
      for (const { id } of rows) {
        const line = lines.find((l) => l.requestId === id && 'route' in l);
        expect(line, gw.output()).toMatchObject({
          msg: 'request ended by the shutdown',
          status: 503,
          errorCode: 'shutting_down',
        });
      }
    } finally {
      await handle.close();
    }
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)(
    'keeps rows in the outbox when the database is gone at shutdown and replays them after a restart (PostgreSQL)',
    async () => {
      const { target, proxy, url } = await createProxiedPostgresDatabase(
        process.env.TEST_DATABASE_URL ?? '',
      );
      const dir = tempDir();
      const env = {
        TOLLGATE_DATA_DIR: dir,
        UPSTREAM_BASE_URL: upstream.url,
        DATABASE_URL: url,
        TOLLGATE_MASTER_KEYS: generateMasterKeyEntry('ci'),
        LOG_RETRY_INTERVAL_MS: '200',
      };
      const handle = await openDatabase(target.target);
      try {
        await handle.migrate();
        const { key } = await createKey(handle.db, { name: 'load' });
        const gw = await startGatewayProcess(env);
        let exit: Promise<number | null> | null = null;
        const results = await runLoad({
          url: gw.url,
          key,
          total: 400,
          concurrency: 8,
          onProgress: (done) => {
            if (done === 100) proxy.cut();
            if (done === 160) exit = gw.terminate();
          },
        });
        expect(await exit, gw.output()).toBe(0);
        const answered = results.filter((r) => r.status !== 0);
        expect(answered.every((r) => r.status === 200)).toBe(true);
        const before = await countRows(handle, answered);
        expect(before.total).toBeLessThan(answered.length);

        proxy.restore();
        const again = await startGatewayProcess({ ...env, LOG_LEVEL: 'debug' });
        // Start-up replays the outbox; a clean stop waits for it.
        expect(await again.terminate(), again.output()).toBe(0);
        const after = await countRows(handle, answered);
        if (after.total !== answered.length) console.log(again.output());
        expect(after).toEqual({
          total: answered.length,
          distinct: answered.length,
          matching: answered.length,
        });
      } finally {
        await handle.close();
        await proxy.close();
        await target.drop();
      }
    },
  );

  it.skipIf(!process.env.TEST_DATABASE_URL)(
    '10: exits within SHUTDOWN_TIMEOUT_MS when PostgreSQL silently stops answering, its rows in the outbox (PostgreSQL)',
    { timeout: 60_000 },
    async () => {
      const { target, proxy, url } = await createProxiedPostgresDatabase(
        process.env.TEST_DATABASE_URL ?? '',
      );
      const env = {
        TOLLGATE_DATA_DIR: tempDir(),
        UPSTREAM_BASE_URL: upstream.url,
        DATABASE_URL: url,
        TOLLGATE_MASTER_KEYS: generateMasterKeyEntry('ci'),
        SHUTDOWN_TIMEOUT_MS: '4000',
      };
      const handle = await openDatabase(target.target);
      try {
        await handle.migrate();
        const { key } = await createKey(handle.db, { name: 'load' });
        const gw = await startGatewayProcess(env);
        let exit: Promise<number | null> | null = null;
        const results = await runLoad({
          url: gw.url,
          key,
          total: 200,
          concurrency: 8,
          onProgress: (done) => {
            if (done === 80) proxy.freeze();
            if (done === 120) exit = gw.terminate();
          },
        });
        // The test's own timeout is the bound's witness: without one, this waits for minutes. It
        // allows for two gateway start-ups on a machine whose cores are busy with other work.
        expect(await exit, gw.output()).toBe(0);
        expect(gw.output()).toContain('shutdown deadline');
        const answered = results.filter((r) => r.status !== 0);
        expect(answered.every((r) => r.status === 200)).toBe(true);

        proxy.cut();
        proxy.restore();
        const again = await startGatewayProcess(env);
        expect(await again.terminate(), again.output()).toBe(0);
        const after = await countRows(handle, answered);
        expect(after).toEqual({
          total: answered.length,
          distinct: answered.length,
          matching: answered.length,
        });
      } finally {
        await handle.close();
        await proxy.close();
        await target.drop();
      }
    },
  );
});
