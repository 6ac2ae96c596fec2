import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { ok, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

const LIMIT_BYTES = 65_536;
const ENCODERS = {
  gzip: gzipSync,
  deflate: deflateSync,
  'deflate (bare stream)': deflateRawSync,
  br: brotliCompressSync,
};

let upstream: FakeUpstream;
let gateway: TestApp;
let baseURL: string;
let key: string;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.setFallback(ok);
  gateway = await createTestApp({
    UPSTREAM_BASE_URL: upstream.url,
    MAX_BODY_BYTES: String(LIMIT_BYTES),
    CACHE: 'off',
  });
  baseURL = await gateway.listen();
  key = (await gateway.createKey()).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

beforeEach(async () => {
  await settleLog(gateway.deps);
  upstream.requests.length = 0;
});

/** A fetch that sends every JSON body compressed by `encode`, labelled `coding`. */
function compressingFetch(coding: string, encode: (bytes: Buffer) => Buffer): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('content-encoding', coding);
    const body = typeof init?.body === 'string' ? encode(Buffer.from(init.body)) : init?.body;
    return fetch(input, { ...init, headers, body });
  };
}

/** POSTs `body` as it is to the listening gateway's chat completions. */
async function postRaw(body: Uint8Array | string, headers: Record<string, string>) {
  const res = await fetch(`${baseURL}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, text, error: (JSON.parse(text) as { error: unknown }).error };
}

const question = (content: string) =>
  JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });

describe('a compressed request body', () => {
  for (const [name, encode] of Object.entries(ENCODERS)) {
    it(`is decoded when sent with Content-Encoding ${name}: a client that compresses its bodies is served`, async () => {
      const coding = name.split(' ')[0] ?? name;
      const client = new OpenAI({
        apiKey: key,
        baseURL: `${baseURL}/v1`,
        maxRetries: 0,
        fetch: compressingFetch(coding, encode),
      });
      const answer = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `sent as ${name}` }],
      });
      expect(answer.choices[0]?.message.content).toBe('Hello from upstream');
      expect(upstream.requests[0]?.body.messages).toEqual([
        { role: 'user', content: `sent as ${name}` },
      ]);
    });
  }

  it('is refused with 413 once it inflates past MAX_BODY_BYTES (a zip bomb), sending nothing upstream', async () => {
    const bomb = gzipSync(question('a'.repeat(4_000_000)));
    expect(bomb.byteLength).toBeLessThan(LIMIT_BYTES);
    const r = await postRaw(bomb, { 'content-encoding': 'gzip' });
    expect(r.status, r.text).toBe(413);
    expect(r.error).toEqual({
      message: `Request body is larger than the ${LIMIT_BYTES} byte limit once decoded.`,
      type: 'invalid_request_error',
      param: null,
      code: 'request_too_large',
    });
    expect(upstream.requests).toHaveLength(0);
  });

  it('with a coding the gateway cannot decode is a 415 naming it', async () => {
    const r = await postRaw(question('zstd'), { 'content-encoding': 'zstd' });
    expect(r.status, r.text).toBe(415);
    expect(r.error).toEqual({
      message:
        "Content-Encoding 'zstd' is not supported. Send the body uncompressed, or encoded with gzip, deflate or br.",
      type: 'invalid_request_error',
      param: null,
      code: 'unsupported_content_encoding',
    });
    expect(upstream.requests).toHaveLength(0);
  });

  it('stacked in more than two codings is a 415: a header naming gzip a thousand times costs a thousand inflations', async () => {
    let thrice = Buffer.from(question('gzip, three times'));
    for (let i = 0; i < 3; i++) thrice = gzipSync(thrice);
    const r = await postRaw(thrice, { 'content-encoding': 'gzip, gzip, gzip' });
    expect(r.status, r.text).toBe(415);
    expect(r.error).toEqual({
      message:
        'Content-Encoding names 3 codings; at most 2 are decoded. Send the body encoded once, with gzip, deflate or br.',
      type: 'invalid_request_error',
      param: null,
      code: 'unsupported_content_encoding',
    });
    expect(upstream.requests).toHaveLength(0);
  });

  it('that is not what its Content-Encoding says is a 400, never read as plain JSON', async () => {
    const r = await postRaw(question('plain, labelled br'), { 'content-encoding': 'br' });
    expect(r.status, r.text).toBe(400);
    expect(r.error).toMatchObject({ param: null, code: 'invalid_content_encoding' });
    expect(upstream.requests).toHaveLength(0);
  });

  it('labelled identity, or gzip on top of br, is read as such', async () => {
    const plain = await postRaw(question('identity'), { 'content-encoding': 'identity' });
    expect(plain.status, plain.text).toBe(200);
    const twice = gzipSync(brotliCompressSync(Buffer.from(question('br, then gzip'))));
    const layered = await postRaw(twice, { 'content-encoding': 'br, gzip' });
    expect(layered.status, layered.text).toBe(200);
    expect(upstream.requests.map((r) => r.body.messages)).toEqual([
      [{ role: 'user', content: 'identity' }],
      [{ role: 'user', content: 'br, then gzip' }],
    ]);
  });

  it('that is empty is an empty body whatever it is labelled, as a conversation may be created with none', async () => {
    const res = await gateway.request('/v1/conversations', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-encoding': 'gzip' },
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text), text).toMatchObject({ object: 'conversation', metadata: {} });
  });
});
