import { createOpenAI } from '@ai-sdk/openai';
import { OpenAIEmbeddings } from '@langchain/openai';
import { embed } from 'ai';
import { eq } from 'drizzle-orm';
import OpenAI, { InternalServerError, PermissionDeniedError, RateLimitError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countTokens } from '../../src/compression/token-count.js';
import { interactions } from '../../src/storage/schema.js';
import type { FakeUpstream, UpstreamHandler } from '../helpers/fake-upstream.js';
import { json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const VECTOR = [0.25, -0.5, 0.125];

/** Answers like OpenAI: floats, or base64 of little-endian float32 when asked. */
const embeddings: UpstreamHandler = (req, res) => {
  const inputs = Array.isArray(req.body.input) ? req.body.input : [req.body.input];
  const base64 = req.body.encoding_format === 'base64';
  const encoded = Buffer.from(new Float32Array(VECTOR).buffer).toString('base64');
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      object: 'list',
      data: inputs.map((_, index) => ({
        object: 'embedding',
        index,
        embedding: base64 ? encoded : VECTOR,
      })),
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 4 * inputs.length, total_tokens: 4 * inputs.length },
    }),
  );
};

let upstream: FakeUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
  upstream.setFallback(embeddings);
});

describe('POST /v1/embeddings', () => {
  // Counting its tokens took minutes (quadratic in the length of one piece) and held every other
  // request meanwhile; now a fraction of a second. The limit is far beyond that on any machine.
  it('answers an input of 3 MB of one character, and the gateway answers others after it', {
    timeout: 120_000,
  }, async () => {
    const k = await gateway.createKey({ name: 'long-run' });
    const client = new OpenAI({ apiKey: k.key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    const long = await client.embeddings
      .create({
        model: 'text-embedding-3-small',
        input: 'x'.repeat(3_000_000),
        encoding_format: 'float',
      })
      .withResponse();
    expect(long.response.status).toBe(200);
    expect(long.data.data[0]?.embedding).toEqual(VECTOR);
    expect((await fetch(`${gateway.baseURL}/healthz`)).status).toBe(200);
  });

  it('serves openai-node with floats and base64, one row per call', async () => {
    const k = await gateway.createKey({ name: 'embedder' });
    const client = new OpenAI({ apiKey: k.key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    const floats = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['one', 'two'],
      encoding_format: 'float',
    });
    expect(floats.data.map((d) => d.embedding)).toEqual([VECTOR, VECTOR]);
    // The SDK's default asks for base64 and decodes it itself.
    const decoded = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'one',
    });
    expect(decoded.data[0]?.embedding).toEqual(VECTOR);
    expect(upstream.requests.at(-1)?.body.encoding_format).toBe('base64');
    await settleLog(gateway.server.deps);
    const rows = await gateway.server.deps.database.db
      .select()
      .from(interactions)
      .where(eq(interactions.keyId, k.id));
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.endpoint)).toEqual(['embeddings', 'embeddings']);
    expect(rows.map((r) => r.promptTokens).sort()).toEqual([4, 8]);
  });

  it('refuses a list mixing strings and token arrays with a 400 naming input, sending nothing upstream', async () => {
    const k = await gateway.createKey({ name: 'mixed-input' });
    const client = new OpenAI({ apiKey: k.key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    const err = await client.embeddings
      .create({
        model: 'text-embedding-3-small',
        input: ['one', [1, 2, 3]] as unknown as string[],
        encoding_format: 'float',
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toEqual({
      message: "'input' must be all strings or all token arrays, not a mix of both.",
      type: 'invalid_request_error',
      param: 'input',
      code: 'invalid_value',
    });
    expect(upstream.requests).toHaveLength(0);
    // Either kind alone still goes through.
    const tokens = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: [[1, 2, 3], [4]] as unknown as string[],
      encoding_format: 'float',
    });
    expect(tokens.data).toHaveLength(2);
  });

  // LiteLLM sends `encoding_format: null` when its caller names no format; OpenAI reads it as
  // absent. The gateway refused it with a 400.
  it('reads null encoding_format, dimensions and user as absent, and sends no null on', async () => {
    const k = await gateway.createKey({ name: 'nulls' });
    const call = (body: Record<string, unknown>) =>
      fetch(`${gateway.baseURL}/v1/embeddings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'text-embedding-3-small', input: 'nulls', ...body }),
      });
    const res = await call({ encoding_format: null, dimensions: null, user: null });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: { embedding: unknown }[] }).data[0]?.embedding).toEqual(
      VECTOR,
    );
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]?.body).toEqual({ model: 'text-embedding-3-small', input: 'nulls' });
    // The same request as one that leaves them out: its repeat.
    expect((await call({})).headers.get('x-tollgate-cache')).toBe('hit');
  });

  // Jina's OpenAI-compatible API sends `usage: {total_tokens}` alone, and OVH's sends no usage:
  // both rows had no usage, and the key was charged no tokens, so TPM did not limit it.
  it('records and charges the tokens of an answer with total_tokens alone, or no usage at all', async () => {
    const k = await gateway.createKey({ name: 'usage-less', tpm: 10_000 });
    const client = new OpenAI({ apiKey: k.key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    const answer = (usage: Record<string, number> | undefined) =>
      json(200, {
        object: 'list',
        data: [{ object: 'embedding', index: 0, embedding: VECTOR }],
        model: 'text-embedding-3-small',
        ...(usage ? { usage } : {}),
      });
    upstream.enqueue(answer({ total_tokens: 6 }), answer(undefined));
    const ask = (input: string) =>
      client.embeddings
        .create({ model: 'text-embedding-3-small', input, encoding_format: 'float' })
        .withResponse();
    await ask('total only');
    await ask('no usage at all here');
    await settleLog(gateway.server.deps);
    const rows = await gateway.server.deps.database.db
      .select()
      .from(interactions)
      .where(eq(interactions.keyId, k.id));
    const counted = countTokens('no usage at all here', 'text-embedding-3-small');
    const byEstimated = Object.fromEntries(
      rows.map((r) => [String(r.usageEstimated), [r.promptTokens, r.completionTokens]]),
    );
    expect(byEstimated).toEqual({ false: [6, 0], true: [counted, 0] });
    // A repeat is a hit: its headers show the window once the two answers were charged.
    const hit = await ask('no usage at all here');
    expect(hit.response.headers.get('x-tollgate-cache')).toBe('hit');
    expect(hit.response.headers.get('x-ratelimit-remaining-tokens')).toBe(
      String(10_000 - 6 - counted),
    );
  });

  it("prices an embeddings call at its model's input rate in analytics", async () => {
    const k = await gateway.createKey({ name: 'priced', scopes: ['chat', 'analytics:read'] });
    const client = new OpenAI({ apiKey: k.key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    // A long document's worth of tokens, as the provider bills them.
    upstream.enqueue((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          object: 'list',
          data: [{ object: 'embedding', index: 0, embedding: VECTOR }],
          model: 'text-embedding-3-small',
          usage: { prompt_tokens: 500_000, total_tokens: 500_000 },
        }),
      );
    });
    await client.embeddings.create({ model: 'text-embedding-3-small', input: 'a long document' });
    await settleLog(gateway.server.deps);
    const res = await fetch(`${gateway.baseURL}/analytics/summary?key_id=${k.id}`, {
      headers: { authorization: `Bearer ${k.key}` },
    });
    const { totals } = (await res.json()) as {
      totals: {
        requests: number;
        prompt_tokens: number;
        unpriced_requests: number;
        estimated_cost_usd: number;
      };
    };
    // 500,000 input tokens at $0.02 per million; no output rate.
    expect(totals).toMatchObject({ requests: 1, prompt_tokens: 500_000, unpriced_requests: 0 });
    expect(totals.estimated_cost_usd).toBeCloseTo(0.01, 9);
  });

  it('serves the Vercel AI SDK and LangChain', async () => {
    const { key } = await gateway.createKey({ name: 'clients' });
    const provider = createOpenAI({ apiKey: key, baseURL: `${gateway.baseURL}/v1` });
    const { embedding } = await embed({
      model: provider.textEmbeddingModel('text-embedding-3-small'),
      value: 'sunny day',
    });
    expect(embedding).toEqual(VECTOR);
    const lc = new OpenAIEmbeddings({
      model: 'text-embedding-3-small',
      apiKey: key,
      configuration: { baseURL: `${gateway.baseURL}/v1` },
      maxRetries: 0,
    });
    expect(await lc.embedQuery('sunny day')).toEqual(VECTOR);
  });

  it('counts input tokens against the key TPM and enforces the model allowlist', async () => {
    const limited = await gateway.createKey({ name: 'small', tpm: 5 });
    const client = new OpenAI({
      apiKey: limited.key,
      baseURL: `${gateway.baseURL}/v1`,
      maxRetries: 0,
    });
    const long = 'word '.repeat(50);
    const err = await client.embeddings
      .create({ model: 'text-embedding-3-small', input: long })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect(upstream.requests).toHaveLength(0);
    const narrow = await gateway.createKey({ name: 'narrow', allowedModels: ['gpt-4o-mini'] });
    const other = new OpenAI({
      apiKey: narrow.key,
      baseURL: `${gateway.baseURL}/v1`,
      maxRetries: 0,
    });
    const denied = await other.embeddings
      .create({ model: 'text-embedding-3-small', input: 'x' })
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(PermissionDeniedError);
  });

  it('answers an exact repeat from the cache, per tenant, through all three clients', async () => {
    const k = await gateway.createKey({ name: 'repeat' });
    const client = new OpenAI({ apiKey: k.key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    const ask = (input: string, encoding_format: 'float' | 'base64') =>
      client.embeddings
        .create({ model: 'text-embedding-3-small', input, encoding_format })
        .withResponse();
    const first = await ask('repeat me', 'float');
    expect(first.response.headers.get('x-tollgate-cache')).toBe('miss');
    const again = await ask('repeat me', 'float');
    expect(again.response.headers.get('x-tollgate-cache')).toBe('hit');
    expect(again.data.data[0]?.embedding).toEqual(VECTOR);
    // base64 is another answer (another body): a miss first, then a hit, the same bytes.
    expect((await ask('repeat me', 'base64')).response.headers.get('x-tollgate-cache')).toBe(
      'miss',
    );
    const b64 = await ask('repeat me', 'base64');
    expect(b64.response.headers.get('x-tollgate-cache')).toBe('hit');
    expect(b64.data.data[0]?.embedding).toBe(
      Buffer.from(new Float32Array(VECTOR).buffer).toString('base64'),
    );
    expect(upstream.requests).toHaveLength(2);

    const provider = createOpenAI({ apiKey: k.key, baseURL: `${gateway.baseURL}/v1` });
    const model = provider.textEmbeddingModel('text-embedding-3-small');
    await embed({ model, value: 'cached for the AI SDK' });
    const sdk = await embed({ model, value: 'cached for the AI SDK' });
    expect(sdk.embedding).toEqual(VECTOR);
    const lc = new OpenAIEmbeddings({
      model: 'text-embedding-3-small',
      apiKey: k.key,
      configuration: { baseURL: `${gateway.baseURL}/v1` },
      maxRetries: 0,
    });
    await lc.embedQuery('cached for LangChain');
    expect(await lc.embedQuery('cached for LangChain')).toEqual(VECTOR);
    expect(upstream.requests).toHaveLength(4);

    await settleLog(gateway.server.deps);
    const rows = await gateway.server.deps.database.db
      .select()
      .from(interactions)
      .where(eq(interactions.keyId, k.id));
    expect(rows).toHaveLength(8);
    const hits = rows.filter((r) => r.cacheStatus === 'hit');
    expect(hits).toHaveLength(4);
    for (const hit of hits) {
      expect(hit.promptTokens).toBeNull();
      expect(hit.tokensSavedCache).toBe(4);
    }
  });

  // Ollama and other OpenAI-compatible servers have answered floats to encoding_format base64;
  // openai-node, which asks base64 unless told otherwise, then read those floats as base64 and
  // handed back empty vectors.
  it('sends base64 to a client that asked for it when the upstream answered floats', async () => {
    upstream.setFallback(
      json(200, {
        object: 'list',
        data: [{ object: 'embedding', index: 0, embedding: [0.1, -0.2, 0.3] }],
        model: 'text-embedding-3-small',
        usage: { prompt_tokens: 2, total_tokens: 2 },
      }),
    );
    const k = await gateway.createKey({ name: 'floats-only' });
    const client = new OpenAI({ apiKey: k.key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    const expected = Array.from(new Float32Array([0.1, -0.2, 0.3]));
    const ask = () =>
      client.embeddings
        .create({ model: 'text-embedding-3-small', input: 'floats only' })
        .withResponse();
    const miss = await ask();
    expect(upstream.requests.at(-1)?.body.encoding_format).toBe('base64');
    expect(miss.response.headers.get('x-tollgate-cache')).toBe('miss');
    expect(miss.data.data[0]?.embedding).toEqual(expected);
    const hit = await ask();
    expect(hit.response.headers.get('x-tollgate-cache')).toBe('hit');
    expect(hit.data.data[0]?.embedding).toEqual(expected);
    // A client that asks for floats gets the upstream's own numbers.
    const floats = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'floats only',
      encoding_format: 'float',
    });
    expect(floats.data[0]?.embedding).toEqual([0.1, -0.2, 0.3]);
  });

  it('answers 502 for a 200 that is not an embeddings list, and keeps nothing of it', async () => {
    const k = await gateway.createKey({ name: 'not-a-list' });
    const client = new OpenAI({ apiKey: k.key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    const bodies: UpstreamHandler[] = [
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>Gateway login</body></html>');
      },
      json(200, { error: { message: 'quota exhausted' } }),
      json(200, { object: 'list', data: [{ object: 'embedding', index: 0 }] }),
    ];
    for (const body of bodies) {
      upstream.setFallback(body);
      const err = await client.embeddings
        .create({ model: 'text-embedding-3-small', input: 'not a list', encoding_format: 'float' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InternalServerError);
      expect((err as InternalServerError).status).toBe(502);
      expect((err as InternalServerError).error).toMatchObject({ code: 'upstream_error' });
    }
    // Nothing was cached: a good answer is fetched for the same request.
    upstream.setFallback(embeddings);
    const good = await client.embeddings
      .create({ model: 'text-embedding-3-small', input: 'not a list', encoding_format: 'float' })
      .withResponse();
    expect(good.response.headers.get('x-tollgate-cache')).toBe('miss');
    expect(good.data.data[0]?.embedding).toEqual(VECTOR);
    await settleLog(gateway.server.deps);
    const rows = await gateway.server.deps.database.db
      .select()
      .from(interactions)
      .where(eq(interactions.keyId, k.id));
    expect(rows.map((r) => r.status).sort()).toEqual([200, 502, 502, 502]);
  });

  it('answers 502 for a list with a vector too few, retrying it and caching nothing', async () => {
    const k = await gateway.createKey({ name: 'vector-short' });
    const client = new OpenAI({ apiKey: k.key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    // Two texts, one vector: the client would take it for the first text's and find none for the
    // second (or, from a server that drops another one, pair texts with the wrong vectors).
    upstream.setFallback(
      json(200, {
        object: 'list',
        data: [{ object: 'embedding', index: 0, embedding: VECTOR }],
        model: 'text-embedding-3-small',
        usage: { prompt_tokens: 8, total_tokens: 8 },
      }),
    );
    const ask = () =>
      client.embeddings
        .create({
          model: 'text-embedding-3-small',
          input: ['first text', 'second text'],
          encoding_format: 'float',
        })
        .withResponse();
    const err = await ask().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InternalServerError);
    expect((err as InternalServerError).status).toBe(502);
    // A failed attempt like any other: retried before the 502.
    expect(upstream.requests.length).toBeGreaterThan(1);
    upstream.setFallback(embeddings);
    const good = await ask();
    expect(good.response.headers.get('x-tollgate-cache')).toBe('miss');
    expect(good.data.data.map((d) => d.embedding)).toEqual([VECTOR, VECTOR]);
    // A single token array is one input: one vector is its whole answer.
    upstream.setFallback(
      json(200, {
        object: 'list',
        data: [{ object: 'embedding', index: 0, embedding: VECTOR }],
        model: 'text-embedding-3-small',
        usage: { prompt_tokens: 3, total_tokens: 3 },
      }),
    );
    const tokens = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: [7, 8, 9] as unknown as string,
      encoding_format: 'float',
    });
    expect(tokens.data.map((d) => d.embedding)).toEqual([VECTOR]);
  });

  it('never answers another tenant from the cache, and honours no-cache', async () => {
    const a = await gateway.createKey({ name: 'tenant-a' });
    const { insertTenant } = await import('../../src/storage/queries/tenants.js');
    const other = await insertTenant(gateway.server.deps.database.db, 'embeddings-other');
    const b = await gateway.createKey({ name: 'tenant-b', tenant: other.id });
    const call = (key: string, headers: Record<string, string> = {}) =>
      fetch(`${gateway.baseURL}/v1/embeddings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ model: 'text-embedding-3-small', input: 'shared words' }),
      });
    expect((await call(a.key)).headers.get('x-tollgate-cache')).toBe('miss');
    expect((await call(b.key)).headers.get('x-tollgate-cache')).toBe('miss');
    expect(
      (await call(a.key, { 'cache-control': 'no-cache' })).headers.get('x-tollgate-cache'),
    ).toBe('bypass');
    expect((await call(a.key)).headers.get('x-tollgate-cache')).toBe('hit');
    expect(upstream.requests).toHaveLength(3);
  });
});
