import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createUpstreamEmbedder } from '../../src/cache/embedders/upstream-embedder.js';

interface SeenRequest {
  readonly url: string;
  readonly authorization: string | undefined;
  readonly body: { model: string; input: string[]; encoding_format?: string; dimensions?: number };
}

const DIMENSIONS = 4;
const API_KEY = 'sk-test-secret-1234';
let server: Server;
let baseURL: string;
let seen: SeenRequest[] = [];
/** What the fake does next: answer normally, reverse the order, misbehave or fail. */
let mode: 'ok' | 'reversed' | 'wrong-dimensions' | 'too-few' | 'error' | 'hang' = 'ok';
/** Resolves when the fake has received the next request. */
let requestArrived: () => void = () => {};
const nextRequest = () =>
  new Promise<void>((resolve) => {
    requestArrived = resolve;
  });

/** A deterministic, deliberately unnormalised vector derived from the text. */
function fakeVector(text: string): number[] {
  return [text.length, text.charCodeAt(0), 3, mode === 'wrong-dimensions' ? 1 : 0].slice(
    0,
    mode === 'wrong-dimensions' ? 3 : DIMENSIONS,
  );
}

async function readJson(req: IncomingMessage): Promise<SeenRequest['body']> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as SeenRequest['body'];
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await readJson(req);
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization, body });
    requestArrived();
    if (mode === 'hang') return;
    if (mode === 'error') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'boom', type: 'server_error' } }));
      return;
    }
    let data = body.input.map((text, index) => ({
      object: 'embedding',
      index,
      embedding: fakeVector(text),
    }));
    if (mode === 'reversed') data = data.reverse();
    if (mode === 'too-few') data = data.slice(1);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        object: 'list',
        model: body.model,
        data,
        usage: { prompt_tokens: 1, total_tokens: 1 },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  baseURL = `http://127.0.0.1:${port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
  mode = 'ok';
});

const embedderWith = (extra: Partial<Parameters<typeof createUpstreamEmbedder>[0]> = {}) =>
  createUpstreamEmbedder({
    baseURL,
    apiKey: API_KEY,
    model: 'fake-embed-1',
    dimensions: DIMENSIONS,
    maxRetries: 0,
    ...extra,
  });

const norm = (vector: Float32Array) => Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));

describe('upstream embedder', () => {
  it('names the model and dimension in its id', () => {
    const embedder = embedderWith();
    expect(embedder.id).toBe('upstream:fake-embed-1:4');
    expect(embedder.dimensions).toBe(DIMENSIONS);
  });

  it('posts the texts to /v1/embeddings with the key and model, asking for floats', async () => {
    await embedderWith().embed(['hello', 'world']);
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request?.url).toBe('/v1/embeddings');
    expect(request?.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.body).toEqual({
      model: 'fake-embed-1',
      input: ['hello', 'world'],
      encoding_format: 'float',
    });
  });

  it('returns L2-normalised vectors in input order', async () => {
    mode = 'reversed';
    const [a, b] = await embedderWith().embed(['hi', 'hello']);
    expect(norm(a ?? new Float32Array())).toBeCloseTo(1, 6);
    const expected = [5, 104, 3, 0].map((x) => x / Math.hypot(5, 104, 3));
    for (const [i, x] of [...(b ?? [])].entries()) {
      expect(x).toBeCloseTo(expected[i] ?? Number.NaN, 6);
    }
  });

  it('is deterministic for a deterministic upstream', async () => {
    const embedder = embedderWith();
    expect(await embedder.embed(['same text'])).toEqual(await embedder.embed(['same text']));
  });

  it('splits large inputs into batches and keeps the order', async () => {
    const texts = ['a', 'bb', 'ccc', 'dddd', 'eeeee'];
    const vectors = await embedderWith({ maxBatchSize: 2 }).embed(texts);
    expect(seen.map((r) => r.body.input)).toEqual([['a', 'bb'], ['ccc', 'dddd'], ['eeeee']]);
    // The fake's first component is the text length and its third is 3: their ratio survives
    // normalisation.
    const lengths = vectors.map((v) => Math.round(((v[0] ?? 0) / (v[2] ?? 1)) * 3));
    expect(lengths).toEqual([1, 2, 3, 4, 5]);
  });

  it('never sends empty texts and gives them a zero vector', async () => {
    const [empty, full] = await embedderWith().embed(['  ', 'text']);
    expect(seen.map((r) => r.body.input)).toEqual([['text']]);
    expect(norm(empty ?? new Float32Array(1))).toBe(0);
    expect(norm(full ?? new Float32Array())).toBeCloseTo(1, 6);
  });

  it('makes no request at all when every text is empty', async () => {
    const vectors = await embedderWith().embed(['']);
    expect(seen).toHaveLength(0);
    expect(vectors).toHaveLength(1);
  });

  it('asks for shortened vectors only when configured to', async () => {
    await embedderWith({ requestDimensions: true }).embed(['x']);
    expect(seen[0]?.body.dimensions).toBe(DIMENSIONS);
  });

  it('rejects vectors of the wrong dimension with a clear message', async () => {
    mode = 'wrong-dimensions';
    await expect(embedderWith().embed(['x'])).rejects.toThrow(
      'model fake-embed-1 returned 3 dimensions, expected 4',
    );
  });

  it('rejects a response with fewer vectors than inputs', async () => {
    mode = 'too-few';
    await expect(embedderWith().embed(['x', 'y'])).rejects.toThrow(
      'sent 2 inputs, received 1 vectors',
    );
  });

  it('surfaces an upstream error without the API key in the message', async () => {
    mode = 'error';
    const error = await embedderWith()
      .embed(['x'])
      .then(
        () => new Error('expected a rejection'),
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toContain('500');
    expect(String(error)).not.toContain(API_KEY);
  });

  it('aborts an in-flight request when the signal fires', async () => {
    mode = 'hang';
    const controller = new AbortController();
    const arrived = nextRequest();
    const pending = embedderWith().embed(['x'], controller.signal);
    await arrived;
    controller.abort();
    await expect(pending).rejects.toThrow(/abort/i);
  });

  it('gives up after its timeout when the upstream hangs', async () => {
    mode = 'hang';
    await expect(embedderWith({ timeoutMs: 50 }).embed(['x'])).rejects.toThrow(/timed out/i);
  });
});
