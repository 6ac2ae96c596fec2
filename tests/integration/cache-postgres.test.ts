import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterKeyEntry } from '../../src/crypto/key-ring.js';
import { jobsFor } from '../../src/jobs.js';
import { rowsOf } from '../../src/storage/rows-of.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { createPostgresDatabase } from '../helpers/test-database.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

/** Waits for the background work and writes the cache's queue, so the database shows it. */
async function settle(g: TestGateway): Promise<void> {
  await settleLog(g.server.deps);
  await g.server.deps.cache.flush();
}

describe.skipIf(!process.env.TEST_DATABASE_URL)('cache on PostgreSQL without pgvector', () => {
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let target: TestDatabaseTarget;
  let client: OpenAI;
  let answerCount = 0;
  const masterKeys = generateMasterKeyEntry('ci');
  const envFor = () => ({
    UPSTREAM_BASE_URL: upstream.url,
    UPSTREAM_MAX_RETRIES: '0',
    DATABASE_URL: target.target.kind === 'postgres' ? target.target.url : '',
    TOLLGATE_MASTER_KEYS: masterKeys,
  });

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setFallback((req, res) =>
      req.path.endsWith('/embeddings')
        ? json(200, {
            object: 'list',
            data: [{ object: 'embedding', index: 0, embedding: [0.25, 0.5] }],
            model: 'text-embedding-3-small',
            usage: { prompt_tokens: 3, total_tokens: 3 },
          })(req, res)
        : json(200, completionFor(req.body, `Answer ${++answerCount}`))(req, res),
    );
    target = await createPostgresDatabase(process.env.TEST_DATABASE_URL ?? '');
    gateway = await startTestGateway(envFor());
    const k = await gateway.createKey();
    client = new OpenAI({ apiKey: k.key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
    await target?.drop();
  });

  async function ask(content: string, c: OpenAI = client) {
    const { data, response } = await c.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] })
      .withResponse();
    await settle(gateway);
    return { body: data, cache: response.headers.get('x-tollgate-cache') };
  }

  /** Runs `use` against a second instance on the same database, started now, and stops it. */
  async function withOtherInstance(
    use: (otherClient: OpenAI, other: TestGateway) => Promise<void>,
  ): Promise<void> {
    const other = await startTestGateway(envFor());
    try {
      const k = await other.createKey();
      await use(
        new OpenAI({ apiKey: k.key, baseURL: `${other.baseURL}/v1`, maxRetries: 0 }),
        other,
      );
    } finally {
      await other.stop();
    }
  }

  it('keeps semantic caching on without pgvector, its vectors in a plain column', async () => {
    const notices = gateway.logs.filter((l) => l.includes('semantic caching is off'));
    expect(notices, gateway.logs.join('')).toHaveLength(0);
    expect(gateway.server.deps.cache.semantic).toBe(true);
    const result = await gateway.server.deps.database.db.execute(
      sql`select column_name from information_schema.columns where table_name = 'cache_entries'`,
    );
    const columns = rowsOf<{ column_name: string }>(result).map((r) => r.column_name);
    expect(columns).toContain('embedding_f32');
    expect(columns).toContain('embedding_sparse');
    expect(columns).not.toContain('embedding');
  });

  it('answers a close paraphrase from the cache as a semantic hit', async () => {
    const first = await ask('How do I reverse a list in Python?');
    const second = await ask('How can I reverse a list in Python?');
    expect(first.cache, JSON.stringify(first.body)).toBe('miss');
    expect(second.cache, JSON.stringify(second.body)).toBe('semantic-hit');
    expect(second.body).toEqual(first.body);
    const negated = await ask('How can I not reverse a list in Python?');
    expect(negated.cache, JSON.stringify(negated.body)).toBe('miss');
  });

  it('still answers a repeated question from the exact cache, in this process and in another one', async () => {
    const first = await ask('How many moons has Mars?');
    const second = await ask('How many moons has Mars?');
    expect(first.cache, JSON.stringify(first.body)).toBe('miss');
    expect(second.cache, JSON.stringify(second.body)).toBe('hit');
    const paraphrase = await ask('How many moons does Mars have?');
    expect(paraphrase.cache, JSON.stringify(paraphrase.body)).toBe('semantic-hit');
    // A second instance started now: its hit comes from the rows it read at start-up.
    await withOtherInstance(async (otherClient) => {
      const fromDb = await ask('How many moons has Mars?', otherClient);
      expect(fromDb.cache, JSON.stringify(fromDb.body)).toBe('hit');
      expect(fromDb.body).toEqual(first.body);
      // Its vector was read too (stored sparse): the paraphrase finds the entry.
      const near = await ask('How many moons does Mars have?', otherClient);
      expect(near.cache, JSON.stringify(near.body)).toBe('semantic-hit');
    });
  });

  it('answers the exact question of a row whose vector cannot be read, and only that', async () => {
    const first = await ask('How do I sort a list in Python?');
    expect(first.cache, JSON.stringify(first.body)).toBe('miss');
    await gateway.server.deps.cache.flush();
    const db = gateway.server.deps.database.db;
    const stored = await db.execute(
      sql`select count(*)::int as n from cache_entries where embedding_sparse is not null and embedding_f32 is null`,
    );
    expect(rowsOf<{ n: number }>(stored)[0]?.n).toBeGreaterThan(0);
    // Torn sparse bytes, as a damaged or foreign row would hold.
    await db.execute(
      sql`update cache_entries set embedding_sparse = '\\x0102'::bytea where embedding_sparse is not null`,
    );
    await withOtherInstance(async (otherClient) => {
      const exact = await ask('How do I sort a list in Python?', otherClient);
      expect(exact.cache, JSON.stringify(exact.body)).toBe('hit');
      expect(exact.body).toEqual(first.body);
      const near = await ask('How can I sort a list in Python?', otherClient);
      expect(near.cache, JSON.stringify(near.body)).toBe('miss');
    });
  });

  it('serves an entry stored by one instance from another once that one has synced', async () => {
    await withOtherInstance(async (otherClient, other) => {
      const first = await ask('Which gas do plants take in?');
      expect(first.cache, JSON.stringify(first.body)).toBe('miss');
      await other.server.deps.cache.sync();
      const fromOther = await ask('Which gas do plants take in?', otherClient);
      expect(fromOther.cache, JSON.stringify(fromOther.body)).toBe('hit');
      expect(fromOther.body).toEqual(first.body);
      const paraphrase = await ask('Which gas do the plants take in?', otherClient);
      expect(paraphrase.cache, JSON.stringify(paraphrase.body)).toBe('semantic-hit');
    });
  });

  it('a flush on one instance reaches the other at its next sync, embeddings answers included', async () => {
    await withOtherInstance(async (otherClient, other) => {
      const embed = async () => {
        const { response } = await otherClient.embeddings
          .create({ model: 'text-embedding-3-small', input: 'moons of Saturn' })
          .withResponse();
        return response.headers.get('x-tollgate-cache');
      };
      await ask('Which planet has the most moons?');
      await other.server.deps.cache.sync();
      expect((await ask('Which planet has the most moons?', otherClient)).cache).toBe('hit');
      expect(await embed()).toBe('miss');
      expect(await embed()).toBe('hit');

      const admin = await gateway.createKey({ scopes: ['admin'] });
      const flushed = await fetch(`${gateway.baseURL}/admin/cache`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${admin.key}` },
      });
      expect(flushed.status, await flushed.text()).toBe(200);
      // The other instance's cache sync, as its timer runs it.
      const sync = jobsFor(other.server.deps).find((j) => j.name === 'cache sync');
      await sync?.run();
      const again = await ask('Which planet has the most moons?', otherClient);
      expect(again.cache, JSON.stringify(again.body)).toBe('miss');
      expect(await embed()).toBe('miss');
      // The flushing instance keeps what is stored after its flush.
      await ask('Which planet has the fewest moons?');
      await gateway.server.deps.cache.sync();
      expect((await ask('Which planet has the fewest moons?')).cache).toBe('hit');
    });
  });
});
