import { request as httpRequest } from 'node:http';
import OpenAI, { RateLimitError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { chunksFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

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
});

describe('slow request bodies', () => {
  it('answers 408 in OpenAI shape when the body does not arrive in time', async () => {
    const url = new URL(`${gateway.baseURL}/v1/chat/completions`);
    const { status, body } = await new Promise<{ status: number; body: string }>(
      (resolve, reject) => {
        const req = httpRequest(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            headers: {
              authorization: `Bearer ${key}`,
              'content-type': 'application/json',
              'content-length': '1000',
            },
          },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => {
              text += d.toString('utf8');
            });
            res.on('end', () => {
              req.destroy();
              resolve({ status: res.statusCode ?? 0, body: text });
            });
          },
        );
        req.on('error', reject);
        // A few bytes of a body that never finishes.
        req.write('{"model":');
      },
    );
    expect(status, body).toBe(408);
    expect(JSON.parse(body).error.code, body).toBe('request_timeout');
  });
});
