import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countPromptTokens } from '../../src/compression/token-count.js';
import { generateMasterKeyEntry } from '../../src/crypto/key-ring.js';
import { createKey } from '../../src/keys/key-admin.js';
import { createMemoryRateLimiter } from '../../src/ratelimit/memory-rate-limiter.js';
import type { RateLimiter } from '../../src/ratelimit/rate-limiter.js';
import type { Clock } from '../../src/runtime/clock.js';
import type { DatabaseHandle } from '../../src/storage/database.js';
import { insertApiKey } from '../../src/storage/queries/api-keys.js';
import { tenants } from '../../src/storage/schema.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { FreezableTcpProxy } from '../helpers/freezable-tcp-proxy.js';
import type { ManualClock } from '../helpers/manual-clock.js';
import { manualClock, minuteStart } from '../helpers/manual-clock.js';
import { openMigratedPglite } from '../helpers/pglite-template.js';
import { parseSamples, sampleValue } from '../helpers/prometheus-text.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp, TEST_APP_ORIGIN } from '../helpers/test-app.js';
import { lend } from '../helpers/test-deps.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const redisUrl = process.env.TEST_REDIS_URL;
let upstream: FakeUpstream;
/** One migrated database for the in-process gateways of this file. */
let database: DatabaseHandle;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  database = await openMigratedPglite();
});

afterAll(async () => {
  await upstream?.close();
  await database?.close();
});

/** One master key for the gateways of this file that share one database. */
const MASTER_KEYS = generateMasterKeyEntry('limits');

function chatRequest(key: string, body: Record<string, unknown>): RequestInit {
  return {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      ...body,
    }),
  };
}

/** A chat completion through the app in process. */
function chat(gw: TestApp, key: string, body: Record<string, unknown> = {}) {
  return gw.request('/v1/chat/completions', chatRequest(key, body));
}

/** A chat completion over the socket of a listening gateway. */
function chatOverSocket(gw: TestGateway, key: string, body: Record<string, unknown> = {}) {
  return fetch(`${gw.baseURL}/v1/chat/completions`, chatRequest(key, body));
}

/** The body size bound of the gateways of this file. */
const BODY_LIMIT_BYTES = 64 * 1024;

/** The six x-ratelimit-* headers of an answer (absent ones as null). */
function limitHeaders(res: Response): Record<string, string | null> {
  const headers: Record<string, string | null> = {};
  for (const kind of ['limit', 'remaining', 'reset']) {
    for (const of of ['requests', 'tokens']) {
      headers[`${kind}-${of}`] = res.headers.get(`x-ratelimit-${kind}-${of}`);
    }
  }
  return headers;
}

const backends = [{ name: 'memory', env: {} as Record<string, string> }];
if (redisUrl) backends.push({ name: 'redis', env: { REDIS_URL: redisUrl } });

describe.each(backends)('rate limits on the $name backend', ({ env }) => {
  let gateway: TestApp;
  let clock: ManualClock;

  beforeAll(async () => {
    clock = manualClock(minuteStart(1_000));
    // The same question is asked again and again here: the cache would answer it.
    gateway = await createTestApp(
      {
        UPSTREAM_BASE_URL: upstream.url,
        CACHE: 'off',
        TOLLGATE_MASTER_KEYS: MASTER_KEYS,
        MAX_BODY_BYTES: String(BODY_LIMIT_BYTES),
        ...env,
      },
      { clock, database: lend(database) },
    );
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('answers the (rpm+1)-th request of a window with 429, retry-after and OpenAI headers', async () => {
    clock.set(minuteStart(61_000));
    const { key } = await gateway.createKey({ rpm: 3 });
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await chat(gateway, key);
      expect(res.status, await res.text()).toBe(200);
      expect(res.headers.get('x-ratelimit-limit-requests')).toBe('3');
      remaining.push(res.headers.get('x-ratelimit-remaining-requests'));
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const limited = await chat(gateway, key);
    const body = (await limited.json()) as {
      error: { code: string; type: string; message: string };
    };
    expect(limited.status, JSON.stringify(body)).toBe(429);
    expect(body.error).toMatchObject({ code: 'rate_limit_exceeded', type: 'requests' });
    expect(body.error.message).toContain('requests per minute');
    expect(Number(limited.headers.get('retry-after'))).toBe(59);
    expect(limited.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(limited.headers.get('x-ratelimit-reset-requests')).toBe('59s');
    clock.advance(60_000);
    expect((await chat(gateway, key)).status).toBe(200);
  });

  it('reserves max_tokens up front and refunds what the answer did not use', async () => {
    clock.set(minuteStart(121_000));
    const { key } = await gateway.createKey({ tpm: 300 });
    // Each request reserves its prompt plus max_tokens; the answer uses 17 (the fake's usage).
    const reserve = countPromptTokens([{ role: 'user', content: 'hi' }], 'gpt-4o-mini') + 150;
    const first = await chat(gateway, key, { max_tokens: 150 });
    expect(first.status, await first.text()).toBe(200);
    expect(first.headers.get('x-ratelimit-remaining-tokens')).toBe(String(300 - reserve));
    await settleLog(gateway.deps);
    // The first request's unused reservation was refunded: only its 17 tokens still count.
    const second = await chat(gateway, key, { max_tokens: 150 });
    expect(second.status, await second.text()).toBe(200);
    expect(second.headers.get('x-ratelimit-remaining-tokens')).toBe(String(300 - 17 - reserve));
    await settleLog(gateway.deps);
    const tooBig = await chat(gateway, key, { max_tokens: 290 });
    expect(tooBig.status).toBe(429);
    expect(((await tooBig.json()) as { error: { type: string } }).error.type).toBe('tokens');
  });

  it('admits requests without max_tokens on a key whose TPM is below the default answer allowance', async () => {
    clock.set(minuteStart(421_000));
    const { key } = await gateway.createKey({ tpm: 500 });
    const hello = { messages: [{ role: 'user', content: 'Hello' }] };
    // The default allowance (1,024 tokens) is reserved only as far as the window has room: all of
    // what is left. The answer's real usage (17) is what stays charged.
    for (const [turn, used] of [
      ['first', 0],
      ['second', 17],
      ['third', 34],
    ] as const) {
      const res = await chat(gateway, key, hello);
      expect({ turn, status: res.status }, await res.text()).toEqual({ turn, status: 200 });
      expect(res.headers.get('x-ratelimit-remaining-tokens'), turn).toBe('0');
      await settleLog(gateway.deps);
      const models = await gateway.request('/v1/models', {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(models.headers.get('x-ratelimit-remaining-tokens'), turn).toBe(
        String(500 - used - 17),
      );
    }
    // A prompt that alone exceeds the limit never fits: refused at once, and not to be retried.
    const long = { messages: [{ role: 'user', content: 'Tell me about the sea. '.repeat(120) }] };
    const prompt = countPromptTokens(long.messages, 'gpt-4o-mini');
    const tooLarge = await chat(gateway, key, long);
    const body = (await tooLarge.json()) as { error: { message: string } };
    expect(tooLarge.status, JSON.stringify(body)).toBe(429);
    expect(tooLarge.headers.get('x-should-retry')).toBe('false');
    expect(body.error.message).toContain(
      `Limit 500, Requested ${prompt}. Reduce the prompt to run it.`,
    );
  });

  it('keeps a no-max_tokens request waiting for the window when its prompt does not fit what is left', async () => {
    clock.set(minuteStart(481_000));
    const { key } = await gateway.createKey({ tpm: 100 });
    let finish: () => void = () => {};
    const pause = new Promise<void>((r) => (finish = r));
    upstream.enqueue(sse(['a', 'b'], { pauseBefore: 2, pause }));
    const holder = await chat(gateway, key, { max_tokens: 90, stream: true });
    expect(holder.status).toBe(200);
    // While the first answer runs, 90 + its prompt are held: the next prompt does not fit.
    const waiting = await chat(gateway, key);
    const body = (await waiting.json()) as { error: { message: string } };
    expect(waiting.status, JSON.stringify(body)).toBe(429);
    expect(waiting.headers.get('x-should-retry')).toBeNull();
    expect(body.error.message).toContain('Rate limit reached for tokens per minute (TPM)');
    finish();
    await holder.text();
    await settleLog(gateway.deps);
    const after = await chat(gateway, key);
    expect(after.status, await after.text()).toBe(200);
  });

  it('puts the x-ratelimit headers on refusals that come before the limits are counted', async () => {
    clock.set(minuteStart(541_000));
    const { key } = await gateway.createKey({ rpm: 10, tpm: 5_000 });
    const post = (body: string) =>
      gateway.request('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
      });
    const refusals = {
      'malformed JSON': await post('{"model": "gpt-4o-mini", "messages": ['),
      'n: 0': await post(
        JSON.stringify({ model: 'gpt-4o-mini', n: 0, messages: [{ role: 'user', content: 'hi' }] }),
      ),
      'an over-size body': await post(
        JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'x'.repeat(BODY_LIMIT_BYTES) }],
        }),
      ),
    };
    const seen = Object.entries(refusals).map(([what, res]) => ({
      what,
      status: res.status,
      limits: limitHeaders(res),
    }));
    // Nothing counted: a fresh key's whole minute, as /v1/models shows it.
    const untouched = { 'remaining-requests': '10', 'remaining-tokens': '5000' };
    const expected = {
      'limit-requests': '10',
      'limit-tokens': '5000',
      'reset-requests': '59s',
      'reset-tokens': '59s',
      ...untouched,
    };
    expect(seen).toEqual([
      { what: 'malformed JSON', status: 400, limits: expected },
      { what: 'n: 0', status: 400, limits: expected },
      { what: 'an over-size body', status: 413, limits: expected },
    ]);
    // A key without limits has none to report; a request without a key has no key to report on.
    const free = await gateway.createKey();
    const plain = await gateway.request('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${free.key}`, 'content-type': 'application/json' },
      body: '{',
    });
    const anonymous = await gateway.request('/v1/chat/completions', { method: 'POST', body: '{' });
    for (const [what, res] of [
      ['no limits', plain],
      ['no key', anonymous],
    ] as const) {
      expect({ what, status: res.status }).toEqual({
        what,
        status: what === 'no key' ? 401 : 400,
      });
      expect(
        Object.values(limitHeaders(res)).filter((v) => v !== null),
        what,
      ).toEqual([]);
    }
  });

  it('lets max_concurrency streams run and answers one more with 429', async () => {
    clock.set(minuteStart(181_000));
    const { key } = await gateway.createKey({ maxConcurrency: 2 });
    let release: () => void = () => {};
    const pause = new Promise<void>((r) => (release = r));
    upstream.enqueue(
      sse(['a', 'b'], { pauseBefore: 2, pause }),
      sse(['a', 'b'], { pauseBefore: 2, pause }),
    );
    const open = await Promise.all([
      chat(gateway, key, { stream: true }),
      chat(gateway, key, { stream: true }),
    ]);
    expect(open.map((r) => r.status)).toEqual([200, 200]);
    const third = await chat(gateway, key, { stream: true });
    expect(third.status, await third.text()).toBe(429);
    // An operator sees the refusal where every other rate-limit refusal is counted.
    const samples = parseSamples(await gateway.deps.metrics.scrape());
    expect(
      sampleValue(samples, 'tollgate_ratelimit_rejections_total', { reason: 'concurrency' }),
    ).toBe(1);
    release();
    await Promise.all(open.map((r) => r.text()));
    await settleLog(gateway.deps);
    expect((await chat(gateway, key)).status).toBe(200);
  });

  it('charges a stream the client leaves for its prompt and the part streamed, not its whole reservation', async () => {
    clock.set(minuteStart(601_000));
    const { key } = await gateway.createKey({ tpm: 1000 });
    const socket = new OpenAI({
      apiKey: key,
      baseURL: `${await gateway.listen()}/v1`,
      maxRetries: 0,
    });
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const prompt = countPromptTokens(messages, 'gpt-4o-mini');
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    // Role, `Hello`, then the stream waits: the client reads `Hello` and leaves.
    upstream.enqueue(sse(['Hello', ' there'], { pauseBefore: 2, pause: held }));
    const controller = new AbortController();
    const leaving = await socket.chat.completions.create(
      { model: 'gpt-4o-mini', messages, stream: true, max_tokens: 400 },
      { signal: controller.signal },
    );
    const chunks = leaving[Symbol.asyncIterator]();
    await chunks.next();
    expect((await chunks.next()).value?.choices[0]?.delta.content).toBe('Hello');
    controller.abort();
    await upstream.requests.at(-1)?.closedEarly;
    release();
    await settleLog(gateway.deps);
    // The key paid the prompt and the one token streamed (the row's estimate), not 400 more.
    const next = await chat(gateway, key, { max_tokens: 100 });
    expect(next.status, await next.text()).toBe(200);
    expect(next.headers.get('x-ratelimit-remaining-tokens')).toBe(
      String(1000 - (prompt + 1) - (prompt + 100)),
    );
  });

  it('reports the limits on the answers it does not count: conversations, stored responses', async () => {
    clock.set(minuteStart(301_000));
    const { key } = await gateway.createKey({ rpm: 2, tpm: 5000 });
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const created = await gateway.request('/v1/conversations', {
      method: 'POST',
      headers,
      body: '{}',
    });
    const conversation = (await created.json()) as { id: string };
    expect(created.status, JSON.stringify(conversation)).toBe(200);
    const missing = await gateway.request('/v1/responses/resp_nothing_here', { headers });
    expect(missing.status).toBe(404);
    for (const res of [created, missing]) {
      expect(res.headers.get('x-ratelimit-limit-requests')).toBe('2');
      expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('2');
      expect(res.headers.get('x-ratelimit-limit-tokens')).toBe('5000');
      expect(res.headers.get('x-ratelimit-remaining-tokens')).toBe('5000');
      expect(res.headers.get('x-ratelimit-reset-requests')).toBe('59s');
    }
    // Neither was counted: both requests of the minute are still there for the model.
    expect((await chat(gateway, key)).headers.get('x-ratelimit-remaining-requests')).toBe('1');
    const listed = await gateway.request(`/v1/conversations/${conversation.id}/items`, { headers });
    expect(listed.status, await listed.text()).toBe(200);
    expect(listed.headers.get('x-ratelimit-remaining-requests')).toBe('1');
  });

  it('applies tenant limits across the keys of one tenant', async () => {
    clock.set(minuteStart(241_000));
    const db = gateway.deps.database.db;
    const [t] = await db
      .insert(tenants)
      .values({ id: `ten_limits_${Date.now()}`, name: `limited-${Date.now()}`, rpm: 2 })
      .returning();
    const a = await gateway.createKey({ tenant: t?.id });
    const b = await gateway.createKey({ tenant: t?.id });
    expect((await chat(gateway, a.key)).status).toBe(200);
    expect((await chat(gateway, b.key)).status).toBe(200);
    const third = await chat(gateway, a.key);
    expect(third.status).toBe(429);
    expect(((await third.json()) as { error: { message: string } }).error.message).toContain(
      'tenant',
    );
  });
});

/** A gateway with the cache on, in process, on this file's database. */
/** An SDK client of `gw` (two retries allowed) that counts the requests it sends. */
function countingClient(gw: TestApp, key: string): { client: OpenAI; sent: () => number } {
  let sent = 0;
  const client = new OpenAI({
    apiKey: key,
    baseURL: `${TEST_APP_ORIGIN}/v1`,
    maxRetries: 2,
    fetch: (url: string | URL | Request, init?: RequestInit) => {
      sent++;
      return gw.request(url, init);
    },
  });
  return { client, sent: () => sent };
}

/** Sends a request over a 50-token TPM limit and checks it is refused as too large, not to retry. */
async function expectTooLargeForKey(client: OpenAI, keyId: string): Promise<void> {
  const messages = [{ role: 'user' as const, content: 'Tell me about the sea. '.repeat(20) }];
  const requested = countPromptTokens(messages, 'gpt-4o-mini') + 10;
  const error = await client.chat.completions
    .create({ model: 'gpt-4o-mini', messages, max_tokens: 10 })
    .then(
      () => null,
      (err: unknown) => err,
    );
  expect(error).toBeInstanceOf(OpenAI.RateLimitError);
  const limited = error as InstanceType<typeof OpenAI.RateLimitError>;
  expect(limited.headers?.get('x-should-retry')).toBe('false');
  expect(limited.message).toContain(
    `Request too large for key ${keyId} on tokens per minute (TPM): Limit 50, Requested ${requested}.`,
  );
}

function cachingGateway(clock: Clock): Promise<TestApp> {
  return createTestApp(
    { UPSTREAM_BASE_URL: upstream.url, TOLLGATE_MASTER_KEYS: MASTER_KEYS },
    { clock, database: lend(database) },
  );
}

describe('cache hits and token limits', () => {
  it('counts a cache hit as a request but not as tokens', async () => {
    const clock = manualClock(minuteStart(1_000));
    const gw = await cachingGateway(clock);
    try {
      const { key } = await gw.createKey({ tpm: 1000, rpm: 100 });
      const question = {
        messages: [{ role: 'user', content: 'What is the capital of Norway?' }],
        max_tokens: 50,
      };
      const miss = await chat(gw, key, question);
      expect(miss.headers.get('x-tollgate-cache'), await miss.text()).toBe('miss');
      await settleLog(gw.deps);
      const hit = await chat(gw, key, question);
      expect(hit.headers.get('x-tollgate-cache'), await hit.text()).toBe('hit');
      await settleLog(gw.deps);
      const probeMessages = [{ role: 'user', content: 'Something else entirely' }];
      const probe = await chat(gw, key, { messages: probeMessages, max_tokens: 1 });
      await probe.text();
      // Only the miss was charged (its usage: 17 tokens); the hit's reservation was refunded.
      const probeReserve = countPromptTokens(probeMessages, 'gpt-4o-mini') + 1;
      expect(Number(probe.headers.get('x-ratelimit-remaining-tokens'))).toBe(
        1000 - 17 - probeReserve,
      );
      expect(probe.headers.get('x-ratelimit-remaining-requests')).toBe('97');
    } finally {
      await gw.close();
    }
  });

  it("shows a hit's tokens as they stand once its reservation is refunded", async () => {
    const clock = manualClock(minuteStart(61_000));
    const gw = await cachingGateway(clock);
    try {
      const { key } = await gw.createKey({ tpm: 2_000 });
      const question = { messages: [{ role: 'user', content: 'What is the capital of Chile?' }] };
      const miss = await chat(gw, key, question);
      expect(miss.headers.get('x-tollgate-cache'), await miss.text()).toBe('miss');
      await settleLog(gw.deps);
      const models = () =>
        gw.request('/v1/models', { headers: { authorization: `Bearer ${key}` } });
      const before = (await models()).headers.get('x-ratelimit-remaining-tokens');
      expect(before).toBe(String(2_000 - 17));
      for (const stream of [false, true]) {
        const hit = await chat(gw, key, { ...question, stream });
        expect(hit.headers.get('x-tollgate-cache'), await hit.text()).toBe('hit');
        expect(hit.headers.get('x-ratelimit-remaining-tokens'), `stream: ${stream}`).toBe(before);
        await settleLog(gw.deps);
        expect((await models()).headers.get('x-ratelimit-remaining-tokens')).toBe(before);
      }
    } finally {
      await gw.close();
    }
  });
});

/**
 * The limiter as a limit store slow to answer settles makes it (a busy Redis): each settle waits
 * for `answered`; admits and releases go through at once.
 */
function withSlowSettles(limiter: RateLimiter, answered: Promise<void>): RateLimiter {
  return {
    async admit(subject, reserveTokens, extraTokens) {
      const result = await limiter.admit(subject, reserveTokens, extraTokens);
      if (!result.ok) return result;
      const { ticket } = result;
      return {
        ...result,
        ticket: {
          reservedTokens: ticket.reservedTokens,
          holdsSlot: ticket.holdsSlot,
          settle: async (actualTokens) => {
            await answered;
            await ticket.settle(actualTokens);
          },
          release: () => ticket.release(),
        },
      };
    },
    peek: (subject) => limiter.peek(subject),
    close: () => limiter.close(),
  };
}

describe('a settle the limiter is slow to answer', () => {
  it('holds no concurrency slot: a one-at-a-time client of a max_concurrency 1 key is never refused', async () => {
    let answer: () => void = () => {};
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const gw = await createTestApp(
      { UPSTREAM_BASE_URL: upstream.url, CACHE: 'off', TOLLGATE_MASTER_KEYS: MASTER_KEYS },
      {
        database: lend(database),
        rateLimiter: withSlowSettles(createMemoryRateLimiter(), answered),
      },
    );
    try {
      const { key } = await gw.createKey({ maxConcurrency: 1, tpm: 100_000 });
      const client = gw.openai(key);
      const messages = [{ role: 'user' as const, content: 'one at a time' }];
      for (let i = 0; i < 3; i++) {
        const completion = await client.chat.completions.create({
          model: 'gpt-4o-mini',
          messages,
          max_tokens: 50,
        });
        expect(completion.choices[0]?.message.content).toBe('Hello from upstream');
        upstream.enqueue(sse(['Hello', ' again']));
        const stream = await client.chat.completions.create({
          model: 'gpt-4o-mini',
          messages,
          max_tokens: 50,
          stream: true,
        });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        expect(text).toBe('Hello again');
      }
    } finally {
      answer();
      await gw.close();
    }
  });
});

describe('a one-at-a-time client of a tight TPM limit', () => {
  it("finds the last answer's unused reservation refunded when its next request arrives", async () => {
    const gw = await createTestApp(
      { UPSTREAM_BASE_URL: upstream.url, CACHE: 'off', TOLLGATE_MASTER_KEYS: MASTER_KEYS },
      { database: lend(database), clock: manualClock(minuteStart(1_000)) },
    );
    try {
      const messages = [{ role: 'user' as const, content: 'one at a time' }];
      const reserve = countPromptTokens(messages, 'gpt-4o-mini') + 50;
      // Room for one reservation and the usage (17 tokens each) of the answers before it: the
      // next request fits only once the last answer's unused tokens are back.
      const { key } = await gw.createKey({ tpm: reserve + 2 * 17 });
      const client = gw.openai(key);
      for (let i = 0; i < 3; i++) {
        const { data, response } = await client.chat.completions
          .create({ model: 'gpt-4o-mini', messages, max_tokens: 50 })
          .withResponse();
        expect(data.choices[0]?.message.content).toBe('Hello from upstream');
        expect(response.headers.get('x-ratelimit-remaining-tokens'), `request ${i}`).toBe(
          String(2 * 17 - i * 17),
        );
      }
    } finally {
      await gw.close();
    }
  });
});

describe('the openai SDK and a 429', () => {
  it('retries after retry-after and succeeds once the window resets', async () => {
    let offset = 0;
    const clock = { now: () => Date.now() + offset, monotonic: () => performance.now() };
    const gw = await cachingGateway(clock);
    try {
      const { key } = await gw.createKey({ rpm: 1 });
      // Put the gateway 600 ms before the end of a one-minute window.
      offset = minuteStart(59_400) - Date.now();
      const client = gw.openai(key, { maxRetries: 2 });
      await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'first' }],
      });
      const started = Date.now();
      const second = await client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'second' }] })
        .withResponse();
      expect(second.data.choices[0]?.message.content).toBe('Hello from upstream');
      // The SDK waited out the window the gateway announced, then got through.
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(second.response.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    } finally {
      await gw.close();
    }
  });
  it('answers a request larger than the whole TPM limit once, telling the SDK not to retry', async () => {
    // A second before the window ends: an SDK that retried would wait a second, not a minute.
    const clock = manualClock(minuteStart(59_000));
    const gw = await cachingGateway(clock);
    try {
      const { key, id } = await gw.createKey({ tpm: 50 });
      const { client, sent } = countingClient(gw, key);
      await expectTooLargeForKey(client, id);
      // One request, not three: the SDK did not wait out a window that could never fit it.
      expect(sent()).toBe(1);
      // A request within the limit still gets through.
      const small = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 5,
      });
      expect(small.choices[0]?.message.content).toBe('Hello from upstream');
    } finally {
      await gw.close();
    }
  });
  it('answers a request larger than the TPM limit so even when its RPM limit is spent too', async () => {
    const clock = manualClock(minuteStart(59_000));
    const gw = await cachingGateway(clock);
    try {
      const { key, id } = await gw.createKey({ rpm: 1, tpm: 50 });
      const { client, sent } = countingClient(gw, key);
      await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 5,
      });
      await expectTooLargeForKey(client, id);
      // The SDK sent it once: waiting out the RPM window would only have found it too large.
      expect(sent()).toBe(2);
    } finally {
      await gw.close();
    }
  });
});

describe.skipIf(!redisUrl)('two gateways sharing one Redis', () => {
  let a: TestGateway;
  let b: TestGateway;
  let clock: ManualClock;

  beforeAll(async () => {
    clock = manualClock(minuteStart(1_000));
    // The same question goes to both again and again: no cache, so every answer costs tokens.
    const env = { UPSTREAM_BASE_URL: upstream.url, REDIS_URL: redisUrl ?? '', CACHE: 'off' };
    a = await startTestGateway(env, { clock });
    b = await startTestGateway(env, { clock });
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  async function sharedKey(spec: { rpm?: number; tpm?: number }) {
    const { key, row } = await createKey(a.server.deps.database.db, { name: 'shared', ...spec });
    const dbB = b.server.deps.database.db;
    await dbB
      .insert(tenants)
      .values({ id: row.tenantId, name: `shared-${row.tenantId}` })
      .onConflictDoNothing();
    await insertApiKey(dbB, row);
    return key;
  }

  it('enforce one combined RPM: 2×limit requests over both give exactly limit successes', async () => {
    clock.set(minuteStart(301_000));
    const key = await sharedKey({ rpm: 10 });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => chatOverSocket(i % 2 ? a : b, key)),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    expect(results.filter((r) => r.status === 429)).toHaveLength(10);
  });

  it('enforce one combined TPM with settled usage', async () => {
    clock.set(minuteStart(361_000));
    // Each request reserves its prompt + 1 and is charged the 17 tokens the upstream reports.
    const key = await sharedKey({ tpm: 85 });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const gw = i % 2 ? a : b;
      const res = await chatOverSocket(gw, key, { max_tokens: 1 });
      statuses.push(res.status);
      await res.text();
      await settleLog(gw.server.deps);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
  });
});

describe.skipIf(!redisUrl)('when Redis stops answering', () => {
  it.each(['fail-open', 'fail-closed'])(
    'follows the %s policy within the timeout',
    async (policy) => {
      const target = new URL(redisUrl ?? '');
      const proxy = await FreezableTcpProxy.start({
        host: target.hostname,
        port: Number(target.port || 6379),
      });
      const gw = await startTestGateway({
        UPSTREAM_BASE_URL: upstream.url,
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        CACHE: 'off',
        RATE_LIMIT_FAIL_POLICY: policy,
        RATE_LIMIT_TIMEOUT_MS: '200',
      });
      try {
        const { key } = await gw.createKey({ rpm: 1000 });
        // Wait for the limiter's connection, then a healthy request.
        let ok = 0;
        for (let i = 0; i < 50 && ok === 0; i++) {
          const r = await chatOverSocket(gw, key);
          if (r.headers.get('x-ratelimit-limit-requests')) ok++;
          await r.text();
        }
        expect(ok).toBe(1);
        proxy.freeze();
        const started = Date.now();
        const res = await chatOverSocket(gw, key);
        const elapsed = Date.now() - started;
        const text = await res.text();
        // The limit check gives up after 200 ms; a request that waited on the frozen Redis would hang
        // until it thawed (never, here). 5 s is room for a busy machine, not for a hang.
        expect(elapsed, 'a request waited on a dead Redis').toBeLessThan(5_000);
        if (policy === 'fail-open') {
          expect(res.status, text).toBe(200);
          expect(gw.logs.join('')).toContain('fail');
        } else {
          expect(res.status, text).toBe(503);
          // As the gateway's other 503s: the SDKs retry, after the second it names.
          expect(res.headers.get('retry-after')).toBe('1');
        }
        const metrics = await (await fetch(`${gw.baseURL}/metrics`)).text();
        expect(metrics).toMatch(
          new RegExp(
            `tollgate_ratelimit_backend_errors_total\\{operation="admit",policy="${policy}"\\} [1-9]`,
          ),
        );
      } finally {
        await gw.stop();
        await proxy.close();
      }
    },
  );
});
