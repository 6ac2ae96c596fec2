import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { APIError, NotFoundError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateMasterKeyEntry } from '../../src/crypto/key-ring.js';
import { revokeApiKey } from '../../src/storage/queries/api-keys.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { deadPort, hang, json, ok, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp, TEST_APP_ORIGIN } from '../helpers/test-app.js';
import { lend } from '../helpers/test-deps.js';

const UPSTREAM_SECRET = 'sk-test-upstream-secret-0123456789';
/** One master key for both gateways of this file, which share one database. */
const MASTER_KEYS = generateMasterKeyEntry('errors');
let upstream: FakeUpstream;
let gateway: TestApp;
let key: string;
const seen: string[] = [];

async function post(body: unknown, headers: Record<string, string> = {}, raw?: string) {
  const res = await gateway.request('/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  seen.push(text, JSON.stringify([...res.headers]));
  return {
    status: res.status,
    text,
    json: JSON.parse(text) as { error: Record<string, unknown> },
    headers: res.headers,
  };
}

const hi = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await createTestApp({
    UPSTREAM_BASE_URL: upstream.url,
    TOLLGATE_MASTER_KEYS: MASTER_KEYS,
    MAX_BODY_BYTES: '65536',
    UPSTREAM_TIMEOUT_MS: '1500',
    UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: '400',
    // Every test sends the same question and expects the upstream's failure, not a cached answer.
    CACHE: 'off',
  });
  key = (await gateway.createKey({ allowedModels: ['gpt-4o-mini'] })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
  upstream.setFallback(ok);
});

describe('authentication errors', () => {
  it('rejects a request without a key with 401 invalid_api_key and an x-request-id', async () => {
    const r = await post(hi, { authorization: '' });
    expect(r.status, r.text).toBe(401);
    expect(r.json.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'invalid_api_key',
      param: null,
    });
    expect(r.headers.get('x-request-id')).toBeTruthy();
  });

  it('rejects an unknown key, a malformed key and a wrong secret with 401 invalid_api_key', async () => {
    const known = key.slice(0, 16);
    for (const k of [
      'tg_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB',
      'sk-not-ours',
      `${known}${'x'.repeat(32)}`,
    ]) {
      const r = await post(hi, { authorization: `Bearer ${k}` });
      expect(r.status, r.text).toBe(401);
      expect(r.json.error.code).toBe('invalid_api_key');
    }
  });

  it('rejects a revoked key with 401 invalid_api_key', async () => {
    const { key: revoked, id } = await gateway.createKey();
    await revokeApiKey(gateway.deps.database.db, id, new Date());
    const r = await post(hi, { authorization: `Bearer ${revoked}` });
    expect(r.status, r.text).toBe(401);
    expect(r.json.error).toMatchObject({
      code: 'invalid_api_key',
      message: 'This API key has been revoked.',
    });
  });

  it('rejects an expired key with 401 invalid_api_key', async () => {
    const { key: expired } = await gateway.createKey({ expiresAt: new Date(Date.now() - 1000) });
    const r = await post(hi, { authorization: `Bearer ${expired}` });
    expect(r.status, r.text).toBe(401);
    expect(r.json.error).toMatchObject({
      code: 'invalid_api_key',
      message: 'This API key has expired.',
    });
  });

  it('rejects a model the key may not use with 403 model_not_allowed', async () => {
    const r = await post({ ...hi, model: 'gpt-4o' });
    expect(r.status, r.text).toBe(403);
    expect(r.json.error).toMatchObject({ code: 'model_not_allowed', param: 'model' });
    expect(upstream.requests).toHaveLength(0);
  });

  it('rejects a key without the chat scope with 403 insufficient_scope', async () => {
    const { key: analyst } = await gateway.createKey({ scopes: ['analytics:read'] });
    const r = await post(hi, { authorization: `Bearer ${analyst}` });
    expect(r.status, r.text).toBe(403);
    expect(r.json.error.code).toBe('insufficient_scope');
  });
});

describe('request validation', () => {
  it.each([
    ['malformed JSON', '{"model": "gpt-4o-mini", "messages": [', null],
    ['a body that is not an object', '[1,2]', null],
    ['a missing model', JSON.stringify({ messages: hi.messages }), 'model'],
    ['a missing messages', JSON.stringify({ model: 'gpt-4o-mini' }), 'messages'],
    [
      'messages of the wrong type',
      JSON.stringify({ model: 'gpt-4o-mini', messages: 'hi' }),
      'messages',
    ],
    ['an empty messages array', JSON.stringify({ model: 'gpt-4o-mini', messages: [] }), 'messages'],
    [
      'a message without a role',
      JSON.stringify({ model: 'gpt-4o-mini', messages: [{ content: 'x' }] }),
      'messages[0].role',
    ],
    ['a model of the wrong type', JSON.stringify({ model: 7, messages: hi.messages }), 'model'],
    ['stream of the wrong type', JSON.stringify({ ...hi, stream: 'yes' }), 'stream'],
    ['max_tokens of the wrong type', JSON.stringify({ ...hi, max_tokens: -3 }), 'max_tokens'],
  ])('rejects %s with 400 and the param', async (_name, raw, param) => {
    const r = await post(null, {}, raw);
    expect(r.status, r.text).toBe(400);
    expect(r.json.error).toMatchObject({ type: 'invalid_request_error', param });
    expect(r.headers.get('x-request-id')).toBeTruthy();
  });

  it('refuses stream_options on a request that does not stream, as OpenAI does, sending nothing upstream', async () => {
    for (const stream of [false, undefined]) {
      const r = await post({ ...hi, stream, stream_options: { include_usage: true } });
      expect(r.status, r.text).toBe(400);
      expect(r.json.error).toEqual({
        message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        type: 'invalid_request_error',
        param: 'stream_options',
        code: null,
      });
    }
    expect(upstream.requests).toHaveLength(0);
    const unset = await post({ ...hi, stream: false, stream_options: null });
    expect(unset.status, unset.text).toBe(200);
  });

  it('rejects a body over the limit with 413', async () => {
    const r = await post({ ...hi, messages: [{ role: 'user', content: 'x'.repeat(70_000) }] });
    expect(r.status, r.text).toBe(413);
    expect(r.json.error.code).toBe('request_too_large');
    expect(upstream.requests).toHaveLength(0);
  });

  describe('a body that is not UTF-8', () => {
    /** `prefix`, the bytes FF FE (never UTF-8), then `suffix`: "decode \xff\xfe N". */
    const invalidUtf8 = (prefix: string, suffix: string) =>
      Buffer.concat([
        Buffer.from(`${prefix}decode `),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(` N${suffix}`),
      ]);
    const chatBody = invalidUtf8(
      '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"',
      '"}]}',
    );

    const expectNotUtf8 = async (res: Response) => {
      const text = await res.text();
      expect(res.status, text).toBe(400);
      expect(JSON.parse(text), text).toMatchObject({
        error: { type: 'invalid_request_error', code: 'invalid_json', param: null },
      });
      expect(text).toMatch(/not valid UTF-8/);
      expect(res.headers.get('x-request-id')).toBeTruthy();
    };

    it('refuses it with 400 invalid_json on every JSON endpoint, sending nothing upstream', async () => {
      const admin = (await gateway.createKey({ scopes: ['admin'] })).key;
      const endpoints: ReadonlyArray<readonly [string, string, Buffer]> = [
        ['/v1/chat/completions', key, chatBody],
        ['/v1/responses', key, invalidUtf8('{"model":"gpt-4o-mini","input":"', '"}')],
        ['/v1/embeddings', key, invalidUtf8('{"model":"gpt-4o-mini","input":"', '"}')],
        ['/v1/conversations', key, invalidUtf8('{"metadata":{"topic":"', '"}}')],
        ['/admin/keys', admin, invalidUtf8('{"name":"', '"}')],
        ['/admin/tenants', admin, invalidUtf8('{"name":"', '"}')],
      ];
      for (const [path, bearer, body] of endpoints) {
        const res = await gateway.request(path, {
          method: 'POST',
          headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
          body,
        });
        await expectNotUtf8(res);
      }
      expect(upstream.requests).toHaveLength(0);
    });

    it('refuses it read from a socket, with compression off, instead of sending U+FFFD upstream', async () => {
      const base = await gateway.listen();
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'x-tollgate-compression': 'off',
        },
        body: chatBody,
      });
      await expectNotUtf8(res);
      expect(upstream.requests).toHaveLength(0);
    });
  });

  it("answers an unknown route, a wrong method or a trailing slash with OpenAI's 404 Invalid URL", async () => {
    const client = gateway.openai(key);
    for (const [method, path] of [
      ['POST', '/v1/nope'],
      ['GET', '/v1/chat/completions'],
      ['POST', '/v1/chat/completions/'],
      ['PUT', '/healthz'],
    ] as const) {
      const res = await gateway.request(path, {
        method,
        headers: { authorization: `Bearer ${key}` },
      });
      const text = await res.text();
      expect(res.status, text).toBe(404);
      expect(JSON.parse(text), text).toEqual({
        error: {
          message: `Invalid URL (${method} ${path})`,
          type: 'invalid_request_error',
          param: null,
          code: 'unknown_url',
        },
      });
    }
    // The SDK raises it as OpenAI's NotFoundError, with the same body.
    const err = await client.post('/nope', { body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).error).toMatchObject({ code: 'unknown_url' });
    expect((err as NotFoundError).message).toBe('404 Invalid URL (POST /v1/nope)');
  });
});

describe('upstream failures', () => {
  it('passes an upstream 4xx through with the same status and body', async () => {
    const body = {
      error: {
        message: "Invalid value for 'temperature'.",
        type: 'invalid_request_error',
        param: 'temperature',
        code: 'invalid_value',
      },
    };
    upstream.enqueue(json(400, body));
    const r = await post(hi);
    expect(r.status, r.text).toBe(400);
    expect(r.json).toEqual(body);
    expect(upstream.requests).toHaveLength(1);
  });

  it('answers 502 when the upstream keeps failing with 5xx, after retrying', async () => {
    upstream.setFallback(
      json(503, {
        error: { message: 'overloaded', type: 'server_error', param: null, code: null },
      }),
    );
    const r = await post(hi);
    expect(r.status, r.text).toBe(502);
    expect(r.json.error).toMatchObject({ type: 'upstream_error', code: 'upstream_error' });
    expect(upstream.requests).toHaveLength(3);
  });

  it('gives an upstream 429 without retry-after the next step of its own backoff, and no SDK retry after retrying it', async () => {
    const quota = {
      error: {
        message: 'You exceeded your current quota, please check your plan and billing details.',
        type: 'insufficient_quota',
        param: null,
        code: 'insufficient_quota',
      },
    };
    upstream.setFallback(json(429, quota));
    const r = await post(hi);
    expect(r.status, r.text).toBe(429);
    expect(r.json).toEqual(quota);
    // Three attempts waited up to 5 and 10 ms (UPSTREAM_RETRY_BASE_MS=5 here); the next would be 20.
    expect(upstream.requests).toHaveLength(3);
    expect({
      'retry-after': r.headers.get('retry-after'),
      'retry-after-ms': r.headers.get('retry-after-ms'),
      'x-should-retry': r.headers.get('x-should-retry'),
    }).toEqual({ 'retry-after': '1', 'retry-after-ms': '20', 'x-should-retry': 'false' });
  });

  it('lets the SDK retry an upstream 429 the gateway did not, after the wait the gateway names', async () => {
    const noRetries = await createTestApp({
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_MAX_RETRIES: '0',
      CACHE: 'off',
    });
    try {
      const { key: own } = await noRetries.createKey();
      const limited = {
        error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' },
      };
      upstream.enqueue(json(429, limited), ok);
      const answers: { status: number; headers: Headers }[] = [];
      const client = new OpenAI({
        apiKey: own,
        baseURL: `${TEST_APP_ORIGIN}/v1`,
        maxRetries: 1,
        fetch: async (url: string | URL | Request, init?: RequestInit) => {
          const res = await noRetries.request(url, init);
          answers.push({ status: res.status, headers: res.headers });
          return res;
        },
      });
      const completion = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(completion.choices[0]?.message.content).toBe('Hello from upstream');
      expect(answers.map((a) => a.status)).toEqual([429, 200]);
      const [first] = answers;
      expect({
        'retry-after': first?.headers.get('retry-after'),
        'retry-after-ms': first?.headers.get('retry-after-ms'),
        'x-should-retry': first?.headers.get('x-should-retry'),
      }).toEqual({ 'retry-after': '1', 'retry-after-ms': '5', 'x-should-retry': null });
    } finally {
      await noRetries.close();
    }
  });

  it('retries a failing upstream and answers once it recovers', async () => {
    const fail = json(500, {
      error: { message: 'boom', type: 'server_error', param: null, code: null },
    });
    upstream.enqueue(fail, fail, ok);
    const r = await post(hi);
    expect(r.status, r.text).toBe(200);
    expect(upstream.requests).toHaveLength(3);
  });

  it('honours the upstream retry-after before retrying a 429', async () => {
    const limited = json(
      429,
      {
        error: { message: 'slow down', type: 'requests', param: null, code: 'rate_limit_exceeded' },
      },
      { 'retry-after-ms': '40' },
    );
    upstream.enqueue(limited, ok);
    const r = await post(hi);
    expect(r.status, r.text).toBe(200);
    const [a, b] = upstream.requests;
    expect((b?.receivedAt ?? 0) - (a?.receivedAt ?? 0)).toBeGreaterThanOrEqual(38);
  });

  it('turns upstream credential failures into 502 without the upstream error text', async () => {
    upstream.setFallback(
      json(401, {
        error: {
          message: `Incorrect API key provided: ${UPSTREAM_SECRET}.`,
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      }),
    );
    const r = await post(hi);
    expect(r.status, r.text).toBe(502);
    expect(r.text).not.toContain(UPSTREAM_SECRET);
  });

  it('answers 504 when the upstream does not answer in time', async () => {
    let release: () => void = () => {};
    upstream.setFallback(hang(new Promise<void>((r) => (release = r))));
    // The upstream never answers until released, after the reply: the 504 came from the timeout.
    const r = await post(hi);
    release();
    expect(r.status, r.text).toBe(504);
    expect(r.json.error.code, r.text).toBe('upstream_timeout');
    // The whole call's time is spent: the SDK is told not to wait it out again.
    expect(r.headers.get('x-should-retry')).toBe('false');
    expect(upstream.requests.length, r.text).toBeGreaterThan(0);
    await settleLog(gateway.deps);
    const id = r.headers.get('x-request-id');
    const line = gateway.logs
      .flatMap((chunk) => chunk.split('\n').filter((l) => l !== ''))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.requestId === id && l.route !== undefined);
    // Which of the gateway's timers ended the call: the whole call's budget.
    expect(line, JSON.stringify(line)).toMatchObject({
      level: 'warn',
      msg: 'upstream failure',
      status: 504,
      errorCode: 'upstream_timeout',
      provider: 'default',
      reason: 'total timeout',
    });
  });

  it('sends a final error frame that makes the SDK throw when the upstream fails mid-stream', async () => {
    upstream.enqueue(sse(['partial ', 'answer', 'never'], { failAfter: 3 }));
    // Streamed to the SDK over a real socket.
    const client = new OpenAI({
      apiKey: key,
      baseURL: `${await gateway.listen()}/v1`,
      maxRetries: 0,
    });
    const stream = await client.chat.completions.create({
      ...hi,
      stream: true,
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    let text = '';
    let thrown: unknown;
    try {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(APIError);
    expect(text).toBe('partial answer');
    // Streaming never retries once the first byte has reached the client.
    expect(upstream.requests).toHaveLength(1);
  });

  it('retries a stream that fails before its first chunk', async () => {
    upstream.enqueue(sse(['x'], { failAfter: 0 }), sse(['recovered']));
    const client = new OpenAI({
      apiKey: key,
      baseURL: `${await gateway.listen()}/v1`,
      maxRetries: 0,
    });
    const stream = await client.chat.completions.create({
      ...hi,
      stream: true,
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('recovered');
    expect(upstream.requests).toHaveLength(2);
  });

  it('never shows the upstream key or a gateway key secret in any response or log line', () => {
    const everything = [...seen, ...gateway.logs].join('\n');
    expect(everything).not.toContain(UPSTREAM_SECRET);
    expect(everything).not.toContain(key.slice(16));
    expect(gateway.logs.length).toBeGreaterThan(0);
  });
});

describe('fallback across upstreams', () => {
  it('answers from the second upstream when the first is down', async () => {
    const dead = await deadPort();
    const file = join(tmpdir(), `tollgate-routing-${process.pid}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        upstreams: {
          primary: { baseURL: `http://127.0.0.1:${dead}/v1`, apiKey: 'sk-primary-000000000' },
          backup: { baseURL: upstream.url, apiKeyEnv: 'BACKUP_KEY' },
        },
        models: {
          'gpt-4o-mini': ['primary', { upstream: 'backup', model: 'gpt-4o-mini-2024-07-18' }],
        },
      }),
    );
    const gw = await createTestApp(
      {
        TOLLGATE_CONFIG: file,
        BACKUP_KEY: 'sk-backup-111111111',
        CACHE: 'off',
        TOLLGATE_MASTER_KEYS: MASTER_KEYS,
      },
      { database: lend(gateway.deps.database) },
    );
    try {
      const k = (await gw.createKey()).key;
      const client = gw.openai(k);
      const res = await client.chat.completions.create(
        hi as OpenAI.ChatCompletionCreateParamsNonStreaming,
      );
      expect(res.choices[0]?.message.content).toBe('Hello from upstream');
      expect(upstream.requests).toHaveLength(1);
      expect(upstream.requests[0]?.body.model).toBe('gpt-4o-mini-2024-07-18');
      expect(upstream.requests[0]?.headers.authorization).toBe('Bearer sk-backup-111111111');
      const models = await client.models.list();
      expect(models.data.map((m) => m.id)).toEqual(['gpt-4o-mini']);
      const unknown = await gw.request('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...hi, model: 'gpt-unknown' }),
      });
      expect(unknown.status).toBe(404);
    } finally {
      await gw.close();
    }
  });
});
