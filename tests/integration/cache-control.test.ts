import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/runtime/clock.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

/** Waits for the background work and writes the cache's queue, so the database shows it. */
async function settle(g: TestGateway): Promise<void> {
  await settleLog(g.server.deps);
  await g.server.deps.cache.flush();
}

let upstream: FakeUpstream;
let gateway: TestGateway;
let client: OpenAI;
let tenantId: string;
let nowMs = Date.UTC(2030, 0, 1);
const clock: Clock = { now: () => nowMs, monotonic: () => performance.now() };
let answerCount = 0;

function chatCount(): number {
  return upstream.requests.filter((r) => r.path.endsWith('/chat/completions')).length;
}

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.setFallback((req, res) =>
    json(200, completionFor(req.body, `Answer ${++answerCount}`))(req, res),
  );
  gateway = await startTestGateway(
    {
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_MAX_RETRIES: '0',
      CACHE_TTL_S: '600',
      CACHE_MAX_ENTRIES_PER_TENANT: '3',
      // Far below the measured default: only the precision guards stand between near questions.
      CACHE_SEMANTIC_THRESHOLD: '0.1',
    },
    { clock },
  );
  const k = await gateway.createKey();
  tenantId = k.tenantId;
  client = new OpenAI({ apiKey: k.key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

beforeEach(async () => {
  upstream.requests.length = 0;
  await settle(gateway);
  await gateway.server.deps.cache.flushTenant(tenantId);
});

async function ask(content: string, cacheControl?: string) {
  const { data, response } = await client.chat.completions
    .create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] },
      cacheControl ? { headers: { 'cache-control': cacheControl } } : {},
    )
    .withResponse();
  await settle(gateway);
  return { body: data, cache: response.headers.get('x-tollgate-cache'), headers: response.headers };
}

async function entryCount(): Promise<number> {
  const result = await gateway.server.deps.database.db.execute(
    sql`select count(*)::int as n from cache_entries where tenant_id = ${tenantId}`,
  );
  return (result as unknown as { rows: { n: number }[] }).rows[0]?.n ?? -1;
}

describe('Cache-Control', () => {
  it('skips reading on no-cache but stores the fresh answer', async () => {
    await ask('What is entropy?');
    const fresh = await ask('What is entropy?', 'no-cache');
    expect(fresh.cache, JSON.stringify(fresh.body)).toBe('bypass');
    expect(chatCount()).toBe(2);
    const after = await ask('What is entropy?');
    expect(after.cache).toBe('hit');
    expect(after.body.choices[0]?.message.content).toBe(fresh.body.choices[0]?.message.content);
  });

  it('does not store an answer to a no-store request', async () => {
    const first = await ask('What is enthalpy?', 'no-store');
    expect(first.cache, JSON.stringify(first.body)).toBe('miss');
    expect(await entryCount()).toBe(0);
    expect((await ask('What is enthalpy?')).cache).toBe('miss');
    expect(chatCount()).toBe(2);
  });

  it('accepts an entry only as old as max-age allows and reports its age', async () => {
    await ask('What is a quark?');
    nowMs += 30_000;
    const young = await ask('What is a quark?', 'max-age=60');
    expect(young.cache, JSON.stringify(young.body)).toBe('hit');
    expect(young.headers.get('age')).toBe('30');
    const tooOld = await ask('What is a quark?', 'max-age=10');
    expect(tooOld.cache, JSON.stringify(tooOld.body)).toBe('miss');
    expect(chatCount()).toBe(2);
  });
});

describe('expiry and capacity', () => {
  it('stops answering from an entry after its TTL and prunes it from the database', async () => {
    await ask('What is a lepton?');
    nowMs += 599_000;
    expect((await ask('What is a lepton?')).cache).toBe('hit');
    nowMs += 2_000;
    const expired = await ask('What is a lepton?');
    expect(expired.cache, JSON.stringify(expired.body)).toBe('miss');
    // The miss stored a new entry; once it expires too, pruning removes the row.
    nowMs += 601_000;
    const deleted = await gateway.server.deps.cache.maintain();
    expect(deleted).toBe(1);
    expect(await entryCount()).toBe(0);
  });

  it('keeps at most the per-tenant cap, evicting the least recently used', async () => {
    for (const q of ['Q one?', 'Q two?', 'Q three?']) {
      await ask(q);
      nowMs += 1_000;
    }
    expect((await ask('Q one?')).cache).toBe('hit');
    nowMs += 1_000;
    await ask('Q four?');
    expect(await entryCount()).toBe(3);
    const two = await ask('Q two?');
    expect(two.cache, JSON.stringify(two.body)).toBe('miss');
    nowMs += 1_000;
    expect(await entryCount()).toBe(3);
    // Q one was used after Q three was stored, so Q three went when Q two came back.
    expect((await ask('Q one?')).cache).toBe('hit');
    expect((await ask('Q four?')).cache).toBe('hit');
    expect((await ask('Q three?')).cache).toBe('miss');
  });
});

describe('precision guards at a very low threshold', () => {
  it('never answers "What is 12 + 8?" with the answer to "What is 12 + 7?"', async () => {
    await ask('What is 12 + 7?');
    const other = await ask('What is 12 + 8?');
    expect(other.cache, JSON.stringify(other.body)).toBe('miss');
    expect(chatCount()).toBe(2);
  });

  it('never answers "Is X not safe?" with the answer to "Is X safe?"', async () => {
    await ask('Is X safe?');
    const negated = await ask('Is X not safe?');
    expect(negated.cache, JSON.stringify(negated.body)).toBe('miss');
    expect(chatCount()).toBe(2);
  });
});
