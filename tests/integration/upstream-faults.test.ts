import { request as httpRequest } from 'node:http';
import OpenAI, { RateLimitError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { chunksFor, completionFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import type { StalledAnswer } from '../helpers/stalled-body.js';
import { rawChatRequest, stalledChat } from '../helpers/stalled-body.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const BODY_LIMIT = 64 * 1024;
let upstream: FakeUpstream;
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await startTestGateway({
    UPSTREAM_BASE_URL: upstream.url,
    CACHE: 'off',
    UPSTREAM_IDLE_TIMEOUT_MS: '300',
    REQUEST_BODY_TIMEOUT_MS: '300',
    MAX_BODY_BYTES: String(BODY_LIMIT),
  });
  key = (await gateway.createKey()).key;
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
});

const hi = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

describe('the end of a stream', () => {
  it('sends [DONE] and ends the response as soon as the upstream answered whole', async () => {
    let releaseUpstream: () => void = () => {};
    const held = new Promise<void>((r) => (releaseUpstream = r));
    upstream.enqueue(async (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const chunk of chunksFor(String(req.body.model), ['Hel', 'lo'], true)) {
        res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      }
      res.write('data: [DONE]\n\n');
      // The upstream keeps its connection open after [DONE] until the test lets it go.
      await held;
      res.end();
    });
    try {
      const res = await fetch(`${gateway.baseURL}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...hi, stream: true }),
      });
      // Reading the whole body only finishes if the gateway ends it without the upstream.
      const text = await res.text();
      expect(text.endsWith('data: [DONE]\n\n'), text).toBe(true);
      expect(text).toContain('"Hel"');
    } finally {
      releaseUpstream();
    }
  });

  it('ends a stream that stalls after its first chunk with an error frame (idle timeout)', async () => {
    let release: () => void = () => {};
    const stalled = new Promise<void>((r) => (release = r));
    upstream.enqueue(async (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const [first] = chunksFor(String(req.body.model), ['Hel'], true);
      res.write(`data: ${JSON.stringify(first)}\n\n`);
      await stalled;
      res.destroy();
    });
    try {
      const client = new OpenAI({ apiKey: key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
      const stream = await client.chat.completions.create({
        ...hi,
        stream: true,
      } as OpenAI.ChatCompletionCreateParamsStreaming);
      const err = await (async () => {
        for await (const _chunk of stream) {
          // the first chunk arrives; the error frame follows the silence
        }
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect(String((err as Error).message)).toMatch(/did not answer in time/);
    } finally {
      release();
    }
  });
});

describe('retries', () => {
  it("makes one retry budget per client request and passes the upstream's retry-after-ms", async () => {
    upstream.setFallback(
      json(
        429,
        { error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' } },
        { 'retry-after-ms': '40' },
      ),
    );
    try {
      const client = new OpenAI({ apiKey: key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 2 });
      const err = await client.chat.completions
        .create(hi as OpenAI.ChatCompletionCreateParamsNonStreaming)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitError);
      const headers = (err as RateLimitError).headers;
      expect(headers?.get('retry-after-ms')).toBe('40');
      expect(headers?.get('x-should-retry')).toBe('false');
      // The gateway's three attempts, and no more from the SDK on top.
      expect(upstream.requests.filter((r) => r.path.endsWith('/chat/completions'))).toHaveLength(3);
    } finally {
      upstream.setFallback(json(200, {}));
    }
  });

  it('answers with the failure in hand when its retry-after outlasts the time budget', async () => {
    // The provider asks for a pause the policy allows but the request's budget does not have.
    const budgeted = await startTestGateway({
      UPSTREAM_BASE_URL: upstream.url,
      CACHE: 'off',
      UPSTREAM_TIMEOUT_MS: '5000',
      UPSTREAM_RETRY_MAX_MS: '60000',
    });
    upstream.setFallback(
      json(
        429,
        { error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' } },
        { 'retry-after': '30' },
      ),
    );
    try {
      const { key: budgetedKey } = await budgeted.createKey();
      const client = new OpenAI({
        apiKey: budgetedKey,
        baseURL: `${budgeted.baseURL}/v1`,
        maxRetries: 0,
      });
      const err = await client.chat.completions
        .create(hi as OpenAI.ChatCompletionCreateParamsNonStreaming)
        .catch((e: unknown) => e);
      // Not a 504 once the wait had run past the budget: the 429, with the provider's wait.
      expect(err).toBeInstanceOf(RateLimitError);
      expect((err as RateLimitError).headers?.get('retry-after')).toBe('30');
      expect(upstream.requests.filter((r) => r.path.endsWith('/chat/completions'))).toHaveLength(1);
    } finally {
      upstream.setFallback(json(200, {}));
      await budgeted.stop();
    }
  });
});

/**
 * Sends a chat request over a plain socket, its body written chunk by chunk (each write finished
 * before the next), with `headers` on top of the key's. Resolves with the answer.
 */
function postInChunks(
  chunks: readonly (string | Uint8Array)[],
  headers: Record<string, string>,
): Promise<StalledAnswer> {
  const { req, answer } = rawChatRequest(gateway.baseURL, key, headers);
  const writeNext = (i: number) => {
    if (i === chunks.length) req.end();
    else req.write(chunks[i], () => writeNext(i + 1));
  };
  writeNext(0);
  return answer;
}

describe('request bodies read from the socket', () => {
  it('reads a body that arrives in several pieces whole', async () => {
    upstream.enqueue((req, res) => json(200, completionFor(req.body, 'pieces'))(req, res));
    const content = `piece by piece ${'é'.repeat(3000)}`;
    const bytes = Buffer.from(
      JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
    );
    // One cut falls inside a two-byte character: the text is decoded only once it is whole.
    const cut = bytes.indexOf(Buffer.from('é')) + 1001;
    const { status, body } = await postInChunks(
      [bytes.subarray(0, 10), bytes.subarray(10, cut), bytes.subarray(cut)],
      { 'transfer-encoding': 'chunked' },
    );
    expect(status, body).toBe(200);
    expect(JSON.parse(body).choices[0].message.content).toBe('pieces');
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]?.body.messages).toEqual([{ role: 'user', content }]);
  });

  it('refuses a chunked body with 413 as soon as it passes the limit', async () => {
    const piece = 'x'.repeat(16 * 1024);
    const chunks = ['{"model":"gpt-4o-mini","messages":[{"role":"user","content":"'];
    for (let i = 0; i < 8; i++) chunks.push(piece);
    chunks.push('"}]}');
    const { status, body } = await postInChunks(chunks, { 'transfer-encoding': 'chunked' });
    expect(status, body).toBe(413);
    expect(JSON.parse(body).error.code, body).toBe('request_too_large');
    expect(upstream.requests).toHaveLength(0);
  });

  it('keeps serving after a client leaves in the middle of its body', async () => {
    const url = new URL(`${gateway.baseURL}/v1/chat/completions`);
    await new Promise<void>((resolve) => {
      const req = httpRequest({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-length': '1000' },
      });
      req.on('error', () => {});
      req.write('{"model":"gpt-4o-mini",', () => {
        req.destroy();
        resolve();
      });
    });
    upstream.enqueue((req, res) => json(200, completionFor(req.body, 'still here'))(req, res));
    const res = await postInChunks(
      [JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })],
      {},
    );
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body).choices[0].message.content).toBe('still here');
    expect(upstream.requests).toHaveLength(1);
  });

  it('answers 408 in OpenAI shape when the body does not arrive in time', async () => {
    const { status, body } = await stalledChat(gateway.baseURL, key);
    expect(status, body).toBe(408);
    expect(JSON.parse(body).error.code, body).toBe('request_timeout');
  });
});
