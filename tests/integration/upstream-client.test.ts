import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPooledFetch, createUpstreamAgent } from '../../src/upstream/pooled-fetch.js';
import { UpstreamClient } from '../../src/upstream/upstream-client.js';
import type { FakeUpstream, RecordedRequest } from '../helpers/fake-upstream.js';
import { sse, startFakeUpstream } from '../helpers/fake-upstream.js';

const agent = createUpstreamAgent({ connections: 4, connectTimeoutMs: 2_000 });
let upstream: FakeUpstream;

beforeAll(async () => {
  upstream = await startFakeUpstream();
});

afterAll(async () => {
  await agent.close();
  await upstream.close();
});

function clientOptions() {
  return {
    apiKey: 'sk-upstream-test',
    baseURL: upstream.url,
    maxRetries: 0,
    timeout: 90_000,
    fetch: createPooledFetch(agent),
  };
}

const bytes = (body: object) => Buffer.from(JSON.stringify(body));
const JSON_ONLY = { 'content-type': 'application/json' };

/** What the provider sees of a request, minus what differs between any two connections. */
function asSeen(request: RecordedRequest | undefined) {
  if (!request) throw new Error('the upstream received no request');
  return {
    method: request.method,
    path: request.path,
    headers: request.headers,
    body: request.rawBody,
  };
}

/** Sends the same calls through a client and returns what the upstream received for each. */
async function callsThrough(sdk: OpenAI): Promise<ReturnType<typeof asSeen>[]> {
  const from = upstream.requests.length;
  const question = (n: number): ChatCompletionCreateParamsNonStreaming => ({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: `question ${n}` }],
  });
  for (let n = 0; n < 3; n++) {
    const body = question(n);
    // With a signal, as the router calls (the reused call then skips the SDK's own controller).
    const completion = await sdk.chat.completions.create(body, {
      body: bytes(body),
      headers: JSON_ONLY,
      ...(n > 0 ? { signal: new AbortController().signal } : {}),
    });
    expect(completion.choices[0]?.message.content).toBe('Hello from upstream');
  }
  // A stream, read raw as the router reads it.
  const streamBody = { ...question(3), stream: true as const };
  upstream.enqueue(sse(['Hel', 'lo']));
  const response = await sdk.chat.completions
    .create(streamBody, {
      body: bytes(streamBody),
      headers: JSON_ONLY,
      signal: new AbortController().signal,
    })
    .asResponse();
  expect(await response.text()).toContain('data: [DONE]');
  // A call with one more header (a trace's traceparent), and one with an object body.
  const traced = question(4);
  await sdk.chat.completions.create(traced, {
    body: bytes(traced),
    headers: {
      ...JSON_ONLY,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    },
  });
  await sdk.chat.completions.create(question(5));
  // Another path with the same shape: the headers are the same, the URL its own.
  await sdk.post('/embeddings', {
    body: bytes({ model: 'text-embedding-3-small', input: 'question 6' }),
    headers: JSON_ONLY,
  });
  // And the JSON shape again after them.
  const last = question(7);
  await sdk.chat.completions.create(last, { body: bytes(last), headers: JSON_ONLY });
  return upstream.requests.slice(from).map(asSeen);
}

describe('UpstreamClient', () => {
  it('sends every call exactly as the openai SDK sends it: method, path, headers and body', async () => {
    const plain = await callsThrough(new OpenAI(clientOptions()));
    const reused = await callsThrough(new UpstreamClient(clientOptions()));
    expect(reused).toHaveLength(8);
    expect(reused).toEqual(plain);
    // The key and the SDK's own headers are on the calls whose headers were reused.
    for (const seen of reused) {
      expect(seen.headers.authorization).toBe('Bearer sk-upstream-test');
      expect(seen.headers['x-stainless-retry-count']).toBe('0');
      expect(seen.headers['user-agent']).toMatch(/^OpenAI\/JS /);
    }
    expect(reused.map((seen) => seen.path)).toEqual([
      ...Array(6).fill('/v1/chat/completions'),
      '/v1/embeddings',
      '/v1/chat/completions',
    ]);
    expect(reused[4]?.headers.traceparent).toBe(
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    );
  });

  it('aborts a call built from reused headers when its signal aborts', async () => {
    const sdk = new UpstreamClient(clientOptions());
    const body: ChatCompletionCreateParamsNonStreaming = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'first' }],
    };
    await sdk.chat.completions.create(body, { body: bytes(body), headers: JSON_ONLY });
    const controller = new AbortController();
    let release: () => void = () => {};
    upstream.enqueue(async (_req, res) => {
      await new Promise<void>((resolve) => {
        release = resolve;
        controller.abort();
      });
      res.destroy();
    });
    const call = sdk.chat.completions.create(body, {
      body: bytes(body),
      headers: JSON_ONLY,
      signal: controller.signal,
    });
    await expect(call).rejects.toThrow(OpenAI.APIUserAbortError);
    release();
  });
});
