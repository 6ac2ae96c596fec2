import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeUpstream, RecordedRequest } from '../helpers/fake-upstream.js';
import {
  chunksFor,
  completionFor,
  json,
  sse,
  startFakeUpstream,
} from '../helpers/fake-upstream.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

let upstream: FakeUpstream;
let gateway: TestApp;
/** The SDK calling the app in process. */
let client: OpenAI;
/** The SDK over a real socket, for streams and disconnects. */
let socketClient: OpenAI;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  // These tests check what passes through to the upstream and back: no answer may come from the cache.
  gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' });
  const { key } = await gateway.createKey();
  client = gateway.openai(key);
  socketClient = new OpenAI({
    apiKey: key,
    baseURL: `${await gateway.listen()}/v1`,
    maxRetries: 0,
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
});

describe('non-streaming chat completions', () => {
  it('returns exactly what the upstream sent, tool calls and usage included', async () => {
    const upstreamBody = {
      id: 'chatcmpl-abc',
      object: 'chat.completion',
      created: 1_712_345_678,
      model: 'gpt-4o-mini-2024-07-18',
      system_fingerprint: 'fp_44709d6fcb',
      service_tier: 'default',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            refusal: null,
            tool_calls: [
              {
                id: 'call_1',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
              },
            ],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: {
        prompt_tokens: 82,
        completion_tokens: 17,
        total_tokens: 99,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
      },
    };
    upstream.enqueue(json(200, upstreamBody));
    const res = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
    });
    expect(res).toEqual(upstreamBody);
  });

  it('sends the upstream’s JSON bytes as they came, its layout and escapes included', async () => {
    // OpenAI indents its JSON answers; this one also escapes a character JSON need not escape.
    const sent = `${JSON.stringify(completionFor({ model: 'gpt-4o-mini' }), null, 2).replace(
      'Hello from upstream',
      'Hello from \\u00e9t\\u00e9',
    )}\n`;
    upstream.enqueue((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(sent);
    });
    const response = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }] })
      .asResponse();
    expect(await response.text()).toBe(sent);
  });

  it('passes tools, response_format, seed, logprobs, n, stop and unknown fields through unchanged, adding only a prompt_cache_key', async () => {
    const sent = {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Say hi' },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'lookup',
            description: 'Look up',
            parameters: { type: 'object', properties: { q: { type: 'string' } } },
          },
        },
      ],
      tool_choice: 'auto',
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'x', schema: { type: 'object' }, strict: true },
      },
      seed: 42,
      logprobs: true,
      top_logprobs: 2,
      n: 2,
      stop: ['\n\n', 'END'],
      temperature: 0.3,
      x_custom_field: { nested: [1, 2, { deep: 'yes' }] },
    };
    const res = await gateway.request('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(sent),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(upstream.requests).toHaveLength(1);
    // The one addition: a prompt_cache_key for the provider's prompt cache, written first, the
    // client's bytes after it as sent.
    const cacheKey = upstream.requests[0]?.body.prompt_cache_key;
    expect(cacheKey).toMatch(/^tg-[A-Za-z0-9_-]{32}$/);
    expect(upstream.requests[0]?.body).toEqual({ ...sent, prompt_cache_key: cacheKey });
    expect(upstream.requests[0]?.rawBody).toBe(
      `{"prompt_cache_key":${JSON.stringify(cacheKey)},${JSON.stringify(sent).slice(1)}`,
    );
    expect(upstream.requests[0]?.headers.authorization).toBe(
      'Bearer sk-test-upstream-secret-0123456789',
    );
  });

  it('answers with x-request-id and x-tollgate-overhead-ms headers', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('Hello from upstream');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    // Milliseconds with two decimals: a missing, negative or non-numeric header fails.
    expect(response.headers.get('x-tollgate-overhead-ms')).toMatch(/^\d+\.\d{2}$/);
  });

  it("keeps a client's x-request-id beside its own, echoed in x-client-request-id", async () => {
    const id = '0192f3a4-5b6c-7d8e-9f00-112233445566';
    const { response } = await client.chat.completions
      .create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'x-request-id': id } },
      )
      .withResponse();
    expect(response.headers.get('x-client-request-id')).toBe(id);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect(response.headers.get('x-request-id')).not.toBe(id);
  });
});

describe('streaming chat completions', () => {
  it('delivers the chunks in order and hides the usage chunk the client did not ask for', async () => {
    upstream.enqueue(sse(['Hel', 'lo', ' wor', 'ld']));
    const stream = await socketClient.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('Hello world');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(
      chunks.every((c) => !('usage' in c)),
      JSON.stringify(chunks),
    ).toBe(true);
    expect(upstream.requests[0]?.body.stream_options).toEqual({ include_usage: true });
  });

  it('forwards the usage chunk when the client asked for it', async () => {
    upstream.enqueue(sse(['a', 'b']));
    const stream = await socketClient.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)?.usage).toEqual({
      prompt_tokens: 9,
      completion_tokens: 2,
      total_tokens: 11,
    });
    expect(chunks.at(-1)?.choices).toEqual([]);
  });

  it("relays each chunk in the upstream's own bytes, less the usage the client did not ask for", async () => {
    // A provider's JSON as it writes it: escaped characters, its own key order, spaces.
    const frames = [
      '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"caf\\u00e9 \\"ok\\""},"finish_reason":null}], "usage":null}',
      '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","usage":null}',
      '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}',
    ];
    const raw = (_req: unknown, res: import('node:http').ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`${frames.map((f) => `data: ${f}\n\n`).join('')}data: [DONE]\n\n`);
    };
    const base = await gateway.listen();
    const { key } = await gateway.createKey();
    const ask = async (includeUsage: boolean) => {
      upstream.enqueue(raw);
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'hi' }],
          stream: true,
          ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
        }),
      });
      return res.text();
    };
    const withUsage = await ask(true);
    expect(withUsage, withUsage).toBe(
      `${frames.map((f) => `data: ${f}\n\n`).join('')}data: [DONE]\n\n`,
    );
    // Without it, the usage chunk is hidden and `usage: null` is cut from the others' own bytes.
    const withoutUsage = await ask(false);
    expect(withoutUsage, withoutUsage).toBe(
      `data: ${(frames[0] as string).replace(', "usage":null', '')}\n\n` +
        `data: ${(frames[1] as string).replace(',"usage":null', '')}\n\n` +
        'data: [DONE]\n\n',
    );
  });

  it("ends a whole answer cleanly when the upstream's usage chunk leaves out its empty choices", async () => {
    // Some OpenAI-compatible servers write the usage chunk without `choices`; the gateway asked
    // for that chunk itself, so a client that did not must never see it, nor an error for it.
    upstream.enqueue((_req, res) => {
      const base = { id: 'c2', object: 'chat.completion.chunk', created: 1, model: 'm' };
      const chunk = (fields: Record<string, unknown>) =>
        `data: ${JSON.stringify({ ...base, ...fields })}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(
        chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' } }] }) +
          chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) +
          chunk({ usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }) +
          'data: [DONE]\n\n',
      );
    });
    const stream = await socketClient.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hi');
    expect(chunks.at(-1)?.choices[0]?.finish_reason, JSON.stringify(chunks)).toBe('stop');
    expect(chunks).toHaveLength(2);
  });

  it.each([
    ['no content type', {}],
    ['text/plain', { 'content-type': 'text/plain' }],
    ['application/json', { 'content-type': 'application/json' }],
  ])('relays a stream its server labels with %s, as the SDK reads it', async (_label, headers) => {
    upstream.enqueue((req, res) => {
      res.writeHead(200, headers);
      const chunks = chunksFor(String(req.body.model), ['Hel', 'lo'], true);
      res.end(`${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`);
    });
    const stream = await socketClient.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(upstream.requests).toHaveLength(1);
  });

  it('sends the first chunk of an unlabelled stream before the upstream has finished', async () => {
    let release: () => void = () => {};
    const pause = new Promise<void>((r) => (release = r));
    upstream.enqueue(async (req, res) => {
      res.writeHead(200);
      const [role, first, ...rest] = chunksFor(String(req.body.model), ['first', 'second'], true);
      res.write(`data: ${JSON.stringify(role)}\n\ndata: ${JSON.stringify(first)}\n\n`);
      await pause;
      res.end(`${rest.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`);
    });
    const stream = await socketClient.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    const first = await it.next();
    // The upstream is still paused here: its body was not read whole first.
    expect(first.value?.choices[0]?.delta.content).toBe('first');
    release();
    const rest = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value);
    expect(rest.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('second');
  });

  it('sends the first chunk to the client before the upstream has finished', async () => {
    let release: () => void = () => {};
    const pause = new Promise<void>((r) => (release = r));
    upstream.enqueue(sse(['first', 'second'], { pauseBefore: 2, pause }));
    const stream = await socketClient.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const it = stream[Symbol.asyncIterator]();
    const role = await it.next();
    const first = await it.next();
    // The upstream is still paused here: these chunks cannot have been buffered until its end.
    expect(role.value?.choices[0]?.delta.role).toBe('assistant');
    expect(first.value?.choices[0]?.delta.content).toBe('first');
    release();
    const rest = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value);
    expect(rest.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('second');
  });

  it('closes the upstream connection when the client disconnects mid-stream', async () => {
    let release: () => void = () => {};
    const pause = new Promise<void>((r) => (release = r));
    upstream.enqueue(sse(['one', 'two', 'three'], { pauseBefore: 2, pause }));
    const controller = new AbortController();
    const stream = await socketClient.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true },
      { signal: controller.signal },
    );
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    await it.next();
    controller.abort();
    // The upstream stays paused until after this: only the client's disconnect can close it.
    const closedAt = await upstream.requests[0]?.closedEarly;
    release();
    expect(closedAt, 'upstream never saw its connection close').toBeDefined();
  });

  it.each([
    ['over a socket', () => socketClient],
    ['in process', () => client],
  ])(
    'closes the upstream connection when the client leaves before the answer (%s)',
    async (_how, sdk) => {
      let arrived: (request: RecordedRequest) => void = () => {};
      const received = new Promise<RecordedRequest>((r) => (arrived = r));
      let release: () => void = () => {};
      const held = new Promise<void>((r) => (release = r));
      upstream.enqueue(async (request, res) => {
        arrived(request);
        await held;
        res.destroy();
      });
      const controller = new AbortController();
      // Settled as soon as it fails: the client gives up before the test looks at how.
      const failed = sdk()
        .chat.completions.create(
          { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
          { signal: controller.signal },
        )
        .then(
          () => false,
          () => true,
        );
      const seen = await received;
      controller.abort();
      // The upstream holds its answer until after this: only the client's leaving can close it.
      const closedAt = await seen.closedEarly;
      release();
      expect(await failed).toBe(true);
      expect(closedAt).toBeGreaterThan(0);
    },
  );
});
