import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Breaker } from '../../src/cache/breaker.js';
import { DatabaseCacheStore } from '../../src/cache/database-cache-store.js';
import { DatabaseTier } from '../../src/cache/database-tier.js';
import { createLocalEmbedder } from '../../src/cache/embedders/local-embedder.js';
import { EntryCodec } from '../../src/cache/entry-codec.js';
import { HitCounter } from '../../src/cache/hit-counter.js';
import type { PendingEntry } from '../../src/cache/pending-entry.js';
import { deriveCacheKeys } from '../../src/cache/scope.js';
import { vectorFromBytes, vectorFromSparseBytes } from '../../src/cache/vector-bytes.js';
import { loadConfig } from '../../src/config.js';
import { generateMasterKeyEntry, parseMasterKeys } from '../../src/crypto/key-ring.js';
import type { TenantKeys } from '../../src/crypto/tenant-keys.js';
import { createLogger } from '../../src/runtime/logger.js';
import type { CopyFrom, DatabaseHandle } from '../../src/storage/database.js';
import { openDatabase } from '../../src/storage/database.js';
import {
  copyCacheEntries,
  deleteTenantCacheEntries,
} from '../../src/storage/queries/cache-entries.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { createTenantKeys } from '../../src/tenants/tenant-keys.js';
import { cacheEntryRow } from '../helpers/cache-entry-row.js';
import { migratedMemoryDatabase } from '../helpers/test-database.js';

const NOW = Date.UTC(2030, 0, 1);
const clock = { now: () => NOW, monotonic: () => performance.now() };
const database = migratedMemoryDatabase();
let tenantId: string;
let tenantKeys: TenantKeys;

function tierOn(
  handle: Pick<DatabaseHandle, 'db' | 'copyFrom'>,
  logs: string[] = [],
  copyFrom: CopyFrom = handle.copyFrom,
) {
  const hits = new HitCounter();
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const tier = new DatabaseTier({
    db: handle.db,
    codec: new EntryCodec(tenantKeys),
    breaker: new Breaker({ clock, openMs: 60_000 }),
    hits,
    clock,
    logger: createLogger('warn', sink),
    // Two tiers on one database stand for two instances sharing it.
    othersWrite: true,
    copyFrom,
  });
  return { tier, hits };
}

function pending(exactHash: string, id: string): PendingEntry {
  return {
    id,
    tenantId,
    scopeHash: 'scope',
    exactHash,
    embedder: 'e1',
    vector: Float32Array.of(0.6, 0.8),
    completionJson: JSON.stringify({ id, choices: [] }),
    question: `question ${exactHash}`,
    createdAt: NOW,
    expiresAt: NOW + 60_000,
    provider: 'default',
  };
}

async function rows(): Promise<Record<string, unknown>[]> {
  const result = await database().db.execute(
    sql`select id, exact_hash, hits, embedding_f32 from cache_entries order by exact_hash`,
  );
  return (result as unknown as { rows: Record<string, unknown>[] }).rows;
}

beforeAll(async () => {
  const ring = parseMasterKeys(generateMasterKeyEntry('test'));
  tenantKeys = createTenantKeys({ db: database().db, ring });
  tenantId = (await insertTenant(database().db, 'tier')).id;
});

beforeEach(async () => {
  await database().db.execute(sql`delete from cache_entries`);
});

describe('DatabaseTier', () => {
  it('writes nothing until flush, then every queued entry at once, the newest of each key', async () => {
    const { tier } = tierOn(database());
    tier.enqueueWrite(pending('a', '0190a000-0000-7000-8000-000000000001'));
    tier.enqueueWrite(pending('b', '0190a000-0000-7000-8000-000000000002'));
    tier.enqueueWrite(pending('a', '0190a000-0000-7000-8000-000000000003'));
    expect(await rows()).toEqual([]);
    await tier.flush();
    const written = await rows();
    expect(written.map((r) => [r.exact_hash, r.id])).toEqual([
      ['a', '0190a000-0000-7000-8000-000000000003'],
      ['b', '0190a000-0000-7000-8000-000000000002'],
    ]);
    const vector = vectorFromBytes(written[0]?.embedding_f32 as Uint8Array);
    expect([...vector].map((x) => x.toFixed(4))).toEqual(['0.6000', '0.8000']);
    expect(tier.pendingWrites).toBe(0);
  });

  it('writes a mostly-zero vector as its nonzero components, in its own column', async () => {
    const { tier } = tierOn(database());
    const vector = new Float32Array(512);
    vector[3] = 0.6;
    vector[300] = 0.8;
    tier.enqueueWrite({ ...pending('s', '0190a000-0000-7000-8000-000000000021'), vector });
    await tier.flush();
    const result = await database().db.execute(
      sql`select embedding_f32, embedding_sparse from cache_entries where exact_hash = 's'`,
    );
    const [row] = (result as unknown as { rows: Record<string, Uint8Array | null>[] }).rows;
    expect(row?.embedding_f32).toBeNull();
    expect(row?.embedding_sparse?.length).toBe(4 + 2 * 8);
    const read = vectorFromSparseBytes(row?.embedding_sparse as Uint8Array);
    expect([...read.keys()].filter((i) => read[i] !== 0)).toEqual([3, 300]);
    expect([read[3]?.toFixed(4), read[300]?.toFixed(4)]).toEqual(['0.6000', '0.8000']);
  });

  it('deletes evicted rows and adds hit counts in the next flush', async () => {
    const { tier, hits } = tierOn(database());
    tier.enqueueWrite(pending('a', '0190a000-0000-7000-8000-000000000011'));
    tier.enqueueWrite(pending('b', '0190a000-0000-7000-8000-000000000012'));
    await tier.flush();
    hits.count(tenantId, 'b', NOW);
    hits.count(tenantId, 'b', NOW + 1);
    tier.enqueueDelete({ tenantId, exactHash: 'a', id: '0190a000-0000-7000-8000-000000000011' });
    await tier.flush();
    expect((await rows()).map((r) => [r.exact_hash, r.hits])).toEqual([['b', 2]]);
  });

  it('keeps what it could not write while the database fails, and says so once', async () => {
    // Nothing listens on port 1: every statement fails at once with a refused connection.
    const broken = await openDatabase({
      kind: 'postgres',
      url: 'postgres://tollgate@127.0.0.1:1/none',
    });
    const logs: string[] = [];
    const { tier, hits } = tierOn(broken, logs);
    tier.enqueueWrite(pending('a', '0190a000-0000-7000-8000-000000000021'));
    hits.count(tenantId, 'a', NOW);
    await tier.flush();
    await tier.flush();
    expect(tier.pendingWrites).toBe(1);
    expect(hits.size).toBe(1);
    const warnings = logs.filter((l) => l.includes('cache database step failed'));
    expect(warnings, logs.join('')).toHaveLength(1);
    await broken.close();
  });

  it('finds the rows another instance wrote since its last look, once', async () => {
    const writer = tierOn(database()).tier;
    const reader = tierOn(database()).tier;
    writer.enqueueWrite(pending('a', '0190a000-0000-7000-8000-000000000031'));
    await writer.flush();
    const loaded: string[] = [];
    await reader.loadNewest(NOW, (row) => loaded.push(row.id) > 0);
    expect(loaded).toEqual(['0190a000-0000-7000-8000-000000000031']);
    writer.enqueueWrite(pending('b', '0190a000-0000-7000-8000-000000000032'));
    await writer.flush();
    const known = new Set(loaded);
    const synced = await reader.sync(NOW, (r) => known.has(r.id));
    expect(synced?.rows.map((r) => [r.exactHash, r.id])).toEqual([
      ['b', '0190a000-0000-7000-8000-000000000032'],
    ]);
    for (const r of synced?.rows ?? []) known.add(r.id);
    expect(await reader.sync(NOW, (r) => known.has(r.id))).toEqual({
      rows: [],
      flushedTenants: [],
    });
  });
});

describe('tenant flush records', () => {
  const flushRecords = async () =>
    (
      (await database().db.execute(
        sql`select tenant_id from cache_flushes where tenant_id = ${tenantId}`,
      )) as unknown as { rows: unknown[] }
    ).rows.length;

  it('records a flush with its delete, and prunes it once no entry from before can be live', async () => {
    const { tier } = tierOn(database());
    await database().db.execute(sql`delete from cache_flushes`);
    tier.enqueueWrite(pending('a', '0190a000-0000-7000-8000-000000000051'));
    await tier.flush();
    expect(await tier.deleteTenant(tenantId)).toBe(1);
    expect(await flushRecords()).toBe(1);
    // Recorded by the database's clock: a cut-off before it keeps it, one after it deletes it.
    expect(await tier.pruneFlushes(Date.now() - 60_000)).toBe(0);
    expect(await flushRecords()).toBe(1);
    expect(await tier.pruneFlushes(Date.now() + 60_000)).toBe(1);
    expect(await flushRecords()).toBe(0);
  });
});

describe('DatabaseTier through binary COPY (the embedded database)', () => {
  it('writes the newest entry of each key, and a replaced entry starts its hits over', async () => {
    const { tier, hits } = tierOn(database());
    tier.enqueueWrite(pending('a', '0190a000-0000-7000-8000-000000000041'));
    tier.enqueueWrite(pending('b', '0190a000-0000-7000-8000-000000000042'));
    tier.enqueueWrite(pending('a', '0190a000-0000-7000-8000-000000000043'));
    await tier.flush();
    hits.count(tenantId, 'b', NOW);
    await tier.flush();
    expect((await rows()).map((r) => [r.exact_hash, r.id, r.hits])).toEqual([
      ['a', '0190a000-0000-7000-8000-000000000043', 0],
      ['b', '0190a000-0000-7000-8000-000000000042', 1],
    ]);
    tier.enqueueWrite(pending('b', '0190a000-0000-7000-8000-000000000044'));
    await tier.flush();
    const result = await database().db.execute(
      sql`select id, hits, scope_hash, embedder, size, created_at, expires_at, embedding_f32,
        question_enc is not null as has_question, written_at is not null as stamped
        from cache_entries where exact_hash = 'b'`,
    );
    const [row] = (result as unknown as { rows: Record<string, unknown>[] }).rows;
    expect(row).toMatchObject({
      id: '0190a000-0000-7000-8000-000000000044',
      hits: 0,
      scope_hash: 'scope',
      embedder: 'e1',
      has_question: true,
      stamped: true,
    });
    expect(new Date(row?.created_at as string).getTime()).toBe(NOW);
    expect(new Date(row?.expires_at as string).getTime()).toBe(NOW + 60_000);
    expect(row?.size).toBeGreaterThan(0);
    const vector = vectorFromBytes(row?.embedding_f32 as Uint8Array);
    expect([...vector].map((x) => x.toFixed(4))).toEqual(['0.6000', '0.8000']);
    expect(tier.pendingWrites).toBe(0);
  });

  it('never writes a batch whose merge failed later, after its tenant was flushed', async () => {
    const copyFrom = database().copyFrom;
    let failNext = false;
    // The database refuses one merge (the statement after a batch's COPY, in its transaction).
    const flakyCopy: CopyFrom = (statement, data, steps) => {
      if (!failNext || !steps) return copyFrom(statement, data, steps);
      failNext = false;
      return copyFrom(statement, data, { before: steps.before, after: 'select 1 / 0' });
    };
    const tier = new DatabaseTier({
      db: database().db,
      codec: new EntryCodec(tenantKeys),
      breaker: new Breaker({ clock, openMs: 0 }),
      hits: new HitCounter(),
      clock,
      logger: createLogger('silent'),
      othersWrite: false,
      copyFrom: flakyCopy,
    });
    tier.enqueueWrite(pending('first', '0190a000-0000-7000-8000-000000000051'));
    await tier.flush();
    tier.enqueueWrite(pending('failed', '0190a000-0000-7000-8000-000000000052'));
    failNext = true;
    await tier.flush();
    expect(tier.pendingWrites).toBe(1);
    // The tenant's entries are flushed (as the admin API's cache flush does): queued and stored.
    tier.dropTenant(tenantId);
    await tier.deleteTenant(tenantId);
    tier.enqueueWrite(pending('after', '0190a000-0000-7000-8000-000000000053'));
    await tier.flush();
    expect((await rows()).map((r) => r.exact_hash)).toEqual(['after']);
  });
});

describe('binary COPY writes against a tenant flush', () => {
  it('a batch still being written when its tenant is flushed is flushed with it', async () => {
    const db = database().db;
    const copyFrom = database().copyFrom;
    const entry = (exactHash: string, id: string) =>
      cacheEntryRow(tenantId, exactHash, NOW, { id });
    await copyCacheEntries(copyFrom, [entry('kept', '0190a000-0000-7000-8000-000000000061')]);
    // Its caller stops waiting for it (a timeout), and the tenant's flush goes out behind it.
    const batch = copyCacheEntries(copyFrom, [
      entry('late', '0190a000-0000-7000-8000-000000000062'),
    ]);
    expect(
      await deleteTenantCacheEntries(db, tenantId, '0190a000-0000-7000-8000-000000000063'),
    ).toBe(2);
    await batch;
    expect(await rows()).toEqual([]);
  });
});

describe('DatabaseCacheStore sync', () => {
  function storeOn(
    handle: Pick<DatabaseHandle, 'db' | 'copyFrom'>,
    othersWrite: boolean,
  ): DatabaseCacheStore {
    return new DatabaseCacheStore({
      db: handle.db,
      tenantKeys,
      embedder: createLocalEmbedder(),
      clock,
      logger: createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })),
      config: loadConfig({}).cache,
      othersWrite,
      copyFrom: handle.copyFrom,
    });
  }

  const body = {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Which gas do plants take in?' }],
  };
  const completion: ChatCompletion = {
    id: 'chatcmpl-sync',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Carbon dioxide.', refusal: null },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
  };

  async function storeFromAnotherWriter(handle: DatabaseHandle): Promise<void> {
    const writer = storeOn(handle, true);
    await writer.load();
    await writer.store({
      tenantId,
      keys: deriveCacheKeys({ tenantId, model: body.model, body }),
      completion,
      embedding: null,
      provider: 'eu-fallback',
    });
    await writer.flush();
  }

  async function lookupOn(store: DatabaseCacheStore) {
    return store.lookup({
      tenantId,
      keys: deriveCacheKeys({ tenantId, model: body.model, body }),
      maxAgeMs: null,
    });
  }

  it('on a shared database, brings in what another instance wrote', async () => {
    const reader = storeOn(database(), true);
    await reader.load();
    await storeFromAnotherWriter(database());
    expect((await lookupOn(reader)).hit).toBeNull();
    await reader.sync();
    const found = await lookupOn(reader);
    expect(found.hit?.kind).toBe('hit');
    expect(found.hit?.completion).toEqual(completion);
    // The upstream that gave the answer, for the hit's row.
    expect(found.hit?.provider).toBe('eu-fallback');
  });

  it('on a shared database, drops a tenant another instance flushed, once', async () => {
    const reader = storeOn(database(), true);
    await reader.load();
    const flusher = storeOn(database(), true);
    await flusher.load();
    await storeFromAnotherWriter(database());
    await reader.sync();
    await flusher.sync();
    expect((await lookupOn(reader)).hit?.kind).toBe('hit');
    expect((await lookupOn(flusher)).hit?.kind).toBe('hit');

    expect(await flusher.flushTenant(tenantId)).toBe(1);
    // Until its next look the reader still answers from memory; then the flush reaches it.
    expect((await lookupOn(reader)).hit?.kind).toBe('hit');
    expect(await reader.sync()).toEqual([tenantId]);
    expect((await lookupOn(reader)).hit).toBeNull();

    // Stored again after the flush: neither the reader's next look nor the flusher's own drops it.
    await storeFromAnotherWriter(database());
    expect(await reader.sync()).toEqual([]);
    expect(await flusher.sync()).toEqual([]);
    expect((await lookupOn(reader)).hit?.kind).toBe('hit');
    expect((await lookupOn(flusher)).hit?.kind).toBe('hit');
  });

  it('on a single-writer database, reads nothing: every row there is its own', async () => {
    const reader = storeOn(database(), false);
    await reader.load();
    // A row no single-writer process could meet (the embedded database takes one process).
    await storeFromAnotherWriter(database());
    await reader.sync();
    expect((await lookupOn(reader)).hit).toBeNull();
  });
});

describe('DatabaseCacheStore semantic lookups and the questions’ numbers', () => {
  /** The local embedder, counting the questions it embeds. */
  function countingEmbedder() {
    const local = createLocalEmbedder();
    const counter = {
      calls: 0,
      embedder: {
        ...local,
        embed: (texts: string[], signal?: AbortSignal) => {
          counter.calls += texts.length;
          return local.embed(texts, signal);
        },
      },
    };
    return counter;
  }

  function storeWith(
    embedder: ReturnType<typeof createLocalEmbedder>,
    env: Record<string, string> = {},
    at = clock,
  ): DatabaseCacheStore {
    return new DatabaseCacheStore({
      db: database().db,
      tenantKeys,
      embedder,
      clock: at,
      logger: createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })),
      config: loadConfig(env).cache,
      othersWrite: false,
      copyFrom: database().copyFrom,
    });
  }

  const keysOf = (content: string) => {
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] };
    return deriveCacheKeys({ tenantId, model: body.model, body });
  };
  const answer: ChatCompletion = {
    id: 'chatcmpl-numbers',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Use reversed(items).', refusal: null },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
  };
  const stored = 'How do I reverse a list of 3 items in Python?';
  const sameNumbers = 'How can I reverse a list of 3 items in Python?';
  const otherNumbers = 'How do I reverse a list of 4 items in Python?';
  const lookup = (store: DatabaseCacheStore, content: string) =>
    store.lookup({ tenantId, keys: keysOf(content), maxAgeMs: null });

  it('answers a paraphrase with the same numbers, and one with other numbers without a search', async () => {
    const counter = countingEmbedder();
    const store = storeWith(counter.embedder);
    await store.load();
    await store.store({
      tenantId,
      keys: keysOf(stored),
      completion: answer,
      embedding: null,
      provider: 'default',
    });
    const embedded = counter.calls;

    const other = await lookup(store, otherNumbers);
    expect(other.hit).toBeNull();
    // Nothing in the scope carries a 4: the question was neither embedded nor searched for.
    expect(other.embedding).toBeNull();
    expect(counter.calls).toBe(embedded);

    const same = await lookup(store, sameNumbers);
    expect(same.hit?.kind).toBe('semantic-hit');
    expect(same.hit?.completion).toEqual(answer);
    expect(counter.calls).toBe(embedded + 1);
  });

  it('reads the numbers of entries loaded sealed after start-up, and answers alike before and after', async () => {
    const first = storeWith(createLocalEmbedder());
    await first.load();
    await first.store({
      tenantId,
      keys: keysOf(stored),
      completion: answer,
      embedding: null,
      provider: 'default',
    });
    await first.flush();

    // A restart: the entry comes back sealed, its question (and so its numbers) unread until the
    // store has opened it in the background; a lookup meanwhile searches, and misses as it should.
    const counter = countingEmbedder();
    const store = storeWith(counter.embedder);
    await store.load();
    expect((await lookup(store, otherNumbers)).hit).toBeNull();
    await store.numbersReadIdle();
    const before = counter.calls;
    expect((await lookup(store, otherNumbers)).hit).toBeNull();
    expect(counter.calls).toBe(before);
    expect((await lookup(store, sameNumbers)).hit?.kind).toBe('semantic-hit');
    expect(counter.calls).toBe(before + 1);
    await store.close();
  });

  it('after a restart, neither serves nor keeps an entry older than the lifetime it has now', async () => {
    const first = storeWith(createLocalEmbedder(), { CACHE_TTL_S: String(30 * 24 * 60 * 60) });
    await first.load();
    await first.store({
      tenantId,
      keys: keysOf(stored),
      completion: answer,
      embedding: null,
      provider: 'default',
    });
    await first.flush();
    expect(await rows()).toHaveLength(1);

    // Two days on, restarted with stored text (so cached questions) kept for one day.
    const later = { now: () => NOW + 2 * 24 * 60 * 60 * 1000, monotonic: () => performance.now() };
    const store = storeWith(
      createLocalEmbedder(),
      { CACHE_TTL_S: String(30 * 24 * 60 * 60), RETENTION_CONTENT_DAYS: '1' },
      later,
    );
    await store.load();
    expect((await lookup(store, stored)).hit).toBeNull();
    await store.maintain();
    expect(await rows()).toEqual([]);
    await store.close();
  });

  it('answers with the stored text itself, opened once after a restart and kept open', async () => {
    const first = storeWith(createLocalEmbedder());
    await first.load();
    // The text the client received, spacing and key order included: not what serialising gives.
    const sent = `{"id":"chatcmpl-numbers", "model":"gpt-4o-mini","object":"chat.completion","created":1,"choices":${JSON.stringify(answer.choices)}}`;
    await first.store({
      tenantId,
      keys: keysOf(stored),
      completion: answer,
      completionJson: sent,
      embedding: null,
      provider: 'eu-fallback',
    });
    const fresh = (await lookup(first, stored)).hit;
    expect(fresh?.completionJson).toBe(sent);
    expect(fresh?.completion).toEqual(JSON.parse(sent));
    await first.flush();

    const store = storeWith(createLocalEmbedder());
    await store.load();
    const opened = (await lookup(store, stored)).hit;
    expect(opened?.completion).toEqual(JSON.parse(sent));
    // Which upstream gave the answer comes back with it, for the rows of its hits.
    expect([fresh?.provider, opened?.provider]).toEqual(['eu-fallback', 'eu-fallback']);
    expect(opened?.completionJson).toBe(JSON.stringify(JSON.parse(sent)));
    const again = (await lookup(store, sameNumbers)).hit;
    expect(again?.kind).toBe('semantic-hit');
    expect(again?.completionJson).toBe(opened?.completionJson);
    await store.close();
  });
});
