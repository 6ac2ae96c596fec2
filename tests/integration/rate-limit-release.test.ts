import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterKeyEntry } from '../../src/crypto/key-ring.js';
import { openRateLimiter } from '../../src/ratelimit/create-rate-limiter.js';
import type { RateLimiter } from '../../src/ratelimit/rate-limiter.js';
import type { DatabaseHandle } from '../../src/storage/database.js';
import type { FakeUpstream, UpstreamHandler } from '../helpers/fake-upstream.js';
import { json, ok, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { openMigratedPglite } from '../helpers/pglite-template.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp, TEST_APP_ORIGIN } from '../helpers/test-app.js';
import { lend } from '../helpers/test-deps.js';

const redisUrl = process.env.TEST_REDIS_URL;
let upstream: FakeUpstream;
/** One database for every gateway of this file: a key made on one is known to all. */
let database: DatabaseHandle;

/** Answers a streamed request as a stream, any other with the default completion. */
const streamOrJson: UpstreamHandler = (req, res) =>
  req.body.stream === true ? sse(['Hello', ' again'])(req, res) : ok(req, res);

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.setFallback(streamOrJson);
  database = await openMigratedPglite();
});

afterAll(async () => {
  await upstream?.close();
  await database?.close();
});

const SILENT = { warn: () => {} };
/** One master key for gateways that share one database. */
const MASTER_KEYS = generateMasterKeyEntry('release');

/** The limiter a gateway builds for its config: shared on Redis, or its own in memory. */
function openLimiter(backend: 'memory' | 'redis'): Promise<RateLimiter> {
  return openRateLimiter({ backend, redisUrl, clock: Date.now, logger: SILENT });
}

/**
 * A slot release that travels slower than the answer: it reaches the limiter only once the
 * gateway has done all it does without waiting for it (the event loop turned). If the client has
 * the answer's last byte by then, the release is overtaken by the next admit, on any gateway,
 * before it goes: the worst order the network between instances and Redis can give.
 */
class SlowReleases {
  /** The client has the last byte of the answer to its latest request. */
  delivered = false;
  #admitted: (() => void) | null = null;

  wrap(limiter: RateLimiter): RateLimiter {
    return {
      admit: async (subject, reserveTokens, extraTokens) => {
        const result = await limiter.admit(subject, reserveTokens, extraTokens);
        this.#admitted?.();
        if (!result.ok) return result;
        const { ticket } = result;
        const release = async () => {
          await new Promise((resolve) => setImmediate(resolve));
          if (this.delivered) await new Promise<void>((resolve) => (this.#admitted = resolve));
          await ticket.release();
        };
        return {
          ...result,
          ticket: {
            reservedTokens: ticket.reservedTokens,
            holdsSlot: ticket.holdsSlot,
            settle: (tokens) => ticket.settle(tokens),
            release,
          },
        };
      },
      peek: (subject) => limiter.peek(subject),
      close: () => limiter.close(),
    };
  }

  /**
   * An SDK client of `gateway` that waits for each answer's last byte (the whole body read) before
   * it hands the answer over, so the caller's next request follows it at once.
   */
  client(gateway: TestApp, key: string): OpenAI {
    return new OpenAI({
      apiKey: key,
      baseURL: `${TEST_APP_ORIGIN}/v1`,
      maxRetries: 0,
      fetch: async (url: string | URL | Request, init?: RequestInit) => {
        this.delivered = false;
        const res = await gateway.request(url, init);
        const body = await res.arrayBuffer();
        this.delivered = true;
        return new Response(body, { status: res.status, headers: res.headers });
      },
    });
  }
}

/** `rounds` JSON and `rounds` streamed completions, one at a time, alternating over `clients`. */
async function oneAtATime(clients: readonly OpenAI[], rounds: number): Promise<string[]> {
  const messages = [{ role: 'user' as const, content: 'one at a time' }];
  const answers: string[] = [];
  for (let i = 0; i < 2 * rounds; i++) {
    const client = clients[i % clients.length] as OpenAI;
    if (i % 4 < 2) {
      const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
      answers.push(completion.choices[0]?.message.content ?? '');
    } else {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages,
        stream: true,
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      answers.push(text);
    }
  }
  return answers;
}

const backends: { name: string; backend: 'memory' | 'redis'; instances: number }[] = [
  { name: 'one gateway with its limits in memory', backend: 'memory', instances: 1 },
];
if (redisUrl) {
  backends.push({ name: 'two gateways sharing one Redis', backend: 'redis', instances: 2 });
}

describe.each(backends)('a max_concurrency 1 key on $name', ({ backend, instances }) => {
  const slow = new SlowReleases();
  const gateways: TestApp[] = [];

  beforeAll(async () => {
    for (let i = 0; i < instances; i++) {
      const rateLimiter = slow.wrap(await openLimiter(backend));
      gateways.push(
        await createTestApp(
          { UPSTREAM_BASE_URL: upstream.url, CACHE: 'off', TOLLGATE_MASTER_KEYS: MASTER_KEYS },
          { database: lend(database), rateLimiter },
        ),
      );
    }
  });

  afterAll(async () => {
    for (const gateway of gateways) await gateway.close();
  });

  it('never refuses a client that waits for each answer, even when releases travel slowly', async () => {
    const { key } = await (gateways[0] as TestApp).createKey({ maxConcurrency: 1 });
    const clients = gateways.map((gateway) => slow.client(gateway, key));
    const answers = await oneAtATime(clients, 10);
    expect(answers).toEqual(
      Array.from({ length: 20 }, (_, i) => (i % 4 < 2 ? 'Hello from upstream' : 'Hello again')),
    );
  });

  it('frees the slot of answers that failed: a stream cut mid-answer, an upstream refusal', async () => {
    const { key } = await (gateways[0] as TestApp).createKey({ maxConcurrency: 1 });
    const [first, second = first] = gateways.map((gateway) => slow.client(gateway, key));
    const messages = [{ role: 'user' as const, content: 'fail, then try again' }];
    upstream.enqueue(sse(['Hel', 'lo'], { failAfter: 2 }));
    const stream = await (first as OpenAI).chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      stream: true,
    });
    const failure = await (async () => {
      for await (const _ of stream);
    })().then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    upstream.enqueue(
      json(400, { error: { message: 'refused', type: 'invalid_request_error', param: null } }),
    );
    const refused = await (second as OpenAI).chat.completions
      .create({ model: 'gpt-4o-mini', messages })
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    const completion = await (first as OpenAI).chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
    });
    expect(completion.choices[0]?.message.content).toBe('Hello from upstream');
  });
});

describe.skipIf(!redisUrl)(
  'a max_concurrency 1 key on two listening gateways sharing one Redis',
  () => {
    const gateways: TestApp[] = [];
    const baseURLs: string[] = [];

    beforeAll(async () => {
      for (let i = 0; i < 2; i++) {
        const gateway = await createTestApp(
          {
            UPSTREAM_BASE_URL: upstream.url,
            CACHE: 'off',
            REDIS_URL: redisUrl ?? '',
            TOLLGATE_MASTER_KEYS: MASTER_KEYS,
          },
          { database: lend(database) },
        );
        gateways.push(gateway);
        baseURLs.push(await gateway.listen());
      }
    });

    afterAll(async () => {
      for (const gateway of gateways) await gateway.close();
    });

    function clientsFor(key: string): OpenAI[] {
      return baseURLs.map(
        (url) => new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 }),
      );
    }

    it('never refuses a one-at-a-time client the load balancer alternates between them', async () => {
      const { key } = await (gateways[0] as TestApp).createKey({ maxConcurrency: 1 });
      const answers = await oneAtATime(clientsFor(key), 150);
      expect(answers.filter((a) => a !== 'Hello from upstream' && a !== 'Hello again')).toEqual([]);
      expect(answers).toHaveLength(300);
    });

    it('refuses a second request while one is in flight on the other gateway', async () => {
      const { key } = await (gateways[0] as TestApp).createKey({ maxConcurrency: 1 });
      const [a, b] = clientsFor(key) as [OpenAI, OpenAI];
      let answer: () => void = () => {};
      const pause = new Promise<void>((resolve) => (answer = resolve));
      upstream.enqueue(sse(['Hello', ' again'], { pauseBefore: 2, pause }));
      const messages = [{ role: 'user' as const, content: 'two at once' }];
      const open = await a.chat.completions.create({
        model: 'gpt-4o-mini',
        messages,
        stream: true,
      });
      const refused = await b.chat.completions.create({ model: 'gpt-4o-mini', messages }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
      expect((refused as InstanceType<typeof OpenAI.RateLimitError>).message).toContain(
        'Rate limit reached for concurrent requests',
      );
      answer();
      let text = '';
      for await (const chunk of open) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe('Hello again');
      const next = await b.chat.completions.create({ model: 'gpt-4o-mini', messages });
      expect(next.choices[0]?.message.content).toBe('Hello from upstream');
      await Promise.all(gateways.map((gateway) => settleLog(gateway.deps)));
    });
  },
);
