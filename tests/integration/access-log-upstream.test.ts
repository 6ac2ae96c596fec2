import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeUpstream, UpstreamHandler } from '../helpers/fake-upstream.js';
import { deadPort, json, ok, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

let upstream: FakeUpstream;
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.setFallback(ok);
  gateway = await startTestGateway({
    UPSTREAM_BASE_URL: upstream.url,
    UPSTREAM_MAX_RETRIES: '2',
    UPSTREAM_RETRY_BASE_MS: '1',
    UPSTREAM_RETRY_MAX_MS: '1',
    LOG_LEVEL: 'info',
  });
  const { key } = await gateway.createKey({ scopes: ['chat'] });
  client = new OpenAI({ apiKey: key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

/** The access-log line of a request, by its id, once the log is written. */
async function lineOf(requestId: string | null): Promise<Record<string, unknown> | undefined> {
  await settleLog(gateway.server.deps);
  return gateway.logs
    .flatMap((chunk) => chunk.split('\n').filter((l) => l !== ''))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.requestId === requestId && l.route !== undefined);
}

const embeddingsAnswer: UpstreamHandler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.5, 0.25] }],
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 3, total_tokens: 3 },
    }),
  );
};

/** The request id of an SDK call's answer, or of the error it ended with. */
async function requestIdOf(call: Promise<{ response: Response }>): Promise<string | null> {
  try {
    return (await call).response.headers.get('x-request-id');
  } catch (err) {
    if (err instanceof OpenAI.APIError) return err.headers?.get('x-request-id') ?? null;
    throw err;
  }
}

describe("access log: the upstream's status and the calls made", () => {
  it('logs upstreamStatus and attempts for JSON, streams, Responses and embeddings, retries counted', async () => {
    const ask = (content: string) => ({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user' as const, content }],
    });
    upstream.enqueue(json(503, { error: { message: 'overloaded' } }), ok);
    const retried = await requestIdOf(
      client.chat.completions.create(ask('retried once')).withResponse(),
    );
    upstream.enqueue(sse(['Hel', 'lo']));
    const streamed = await requestIdOf(
      (async () => {
        const { data, response } = await client.chat.completions
          .create({ ...ask('a stream'), stream: true })
          .withResponse();
        for await (const _chunk of data);
        return { response };
      })(),
    );
    const responses = await requestIdOf(
      client.responses.create({ model: 'gpt-4o-mini', input: 'a response' }).withResponse(),
    );
    upstream.enqueue(embeddingsAnswer);
    const embedded = await requestIdOf(
      client.embeddings
        .create({ model: 'text-embedding-3-small', input: 'embed me' })
        .withResponse(),
    );
    const cases = [
      { id: retried, want: { status: 200, upstreamStatus: 200, attempts: 2 } },
      { id: streamed, want: { status: 200, upstreamStatus: 200, attempts: 1 } },
      { id: responses, want: { status: 200, upstreamStatus: 200, attempts: 1 } },
      { id: embedded, want: { status: 200, upstreamStatus: 200, attempts: 1 } },
    ];
    for (const c of cases) {
      const line = await lineOf(c.id);
      expect(line, JSON.stringify(line)).toMatchObject({ msg: 'request', ...c.want });
    }
  });

  it("logs a failed call's last upstream status and every call made, the status the client saw beside them", async () => {
    const overloaded = json(503, { error: { message: 'overloaded' } });
    upstream.enqueue(overloaded, overloaded, overloaded);
    const failed = await requestIdOf(
      client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'fails' }] })
        .withResponse(),
    );
    upstream.enqueue(
      json(400, {
        error: { message: 'Bad.', type: 'invalid_request_error', param: null, code: null },
      }),
    );
    const refusedUpstream = await requestIdOf(
      client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'refused' }] })
        .withResponse(),
    );
    upstream.enqueue(sse(['one', 'two', 'three'], { failAfter: 2 }));
    const cut = await requestIdOf(
      (async () => {
        const { data, response } = await client.chat.completions
          .create({
            model: 'gpt-4o-mini',
            messages: [{ role: 'user', content: 'a stream that breaks' }],
            stream: true,
          })
          .withResponse();
        await (async () => {
          for await (const _chunk of data);
        })().catch(() => undefined);
        return { response };
      })(),
    );
    // The upstream answered 200, then cut its stream: no retry after the first byte.
    expect(await lineOf(cut)).toMatchObject({
      msg: 'upstream failure',
      upstreamStatus: 200,
      attempts: 1,
      reason: 'connection closed mid-answer',
    });
    expect(await lineOf(failed)).toMatchObject({
      msg: 'upstream failure',
      status: 502,
      upstreamStatus: 503,
      attempts: 3,
      reason: 'answered 503',
    });
    expect(await lineOf(refusedUpstream)).toMatchObject({
      msg: 'upstream failure',
      status: 400,
      upstreamStatus: 400,
      attempts: 1,
    });
  });

  it('logs the 200 behind a 502 when the upstream answered with a page that is not an answer (a proxy in front of it)', async () => {
    const page: UpstreamHandler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Maintenance</body></html>');
    };
    upstream.enqueue(page, page, page);
    const chat = await requestIdOf(
      client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a proxy page' }] })
        .withResponse(),
    );
    upstream.enqueue(page, page, page);
    const embedded = await requestIdOf(
      client.embeddings
        .create({ model: 'text-embedding-3-small', input: 'a proxy page' })
        .withResponse(),
    );
    for (const id of [chat, embedded]) {
      const line = await lineOf(id);
      expect(line, JSON.stringify(line)).toMatchObject({
        msg: 'upstream failure',
        status: 502,
        upstreamStatus: 200,
        attempts: 3,
      });
    }
  });

  it('leaves both fields out when no upstream call was made: a cache hit, a refusal', async () => {
    const ask = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user' as const, content: 'the same question twice' }],
    };
    const first = await requestIdOf(client.chat.completions.create(ask).withResponse());
    await settleLog(gateway.server.deps);
    const calls = upstream.requests.length;
    const { response } = await client.chat.completions.create(ask).withResponse();
    expect(response.headers.get('x-tollgate-cache')).toBe('hit');
    expect(upstream.requests.length).toBe(calls);
    const refused = await requestIdOf(
      client.chat.completions
        .create({ ...ask, temperature: 'hot' as unknown as number })
        .withResponse(),
    );
    expect(await lineOf(first)).toMatchObject({ upstreamStatus: 200, attempts: 1 });
    for (const id of [response.headers.get('x-request-id'), refused]) {
      const line = await lineOf(id);
      expect(line, JSON.stringify(line)).toBeDefined();
      expect(line, JSON.stringify(line)).not.toHaveProperty('upstreamStatus');
      expect(line, JSON.stringify(line)).not.toHaveProperty('attempts');
    }
  });
});

describe('access log: an upstream that cannot be reached', () => {
  let unreachable: TestGateway;

  beforeAll(async () => {
    unreachable = await startTestGateway({
      UPSTREAM_BASE_URL: `http://127.0.0.1:${await deadPort()}/v1`,
      UPSTREAM_MAX_RETRIES: '2',
      UPSTREAM_RETRY_BASE_MS: '1',
      UPSTREAM_RETRY_MAX_MS: '1',
      LOG_LEVEL: 'info',
    });
  });

  afterAll(() => unreachable?.stop());

  it('logs every call made, and no upstream status: no call was answered', async () => {
    const { key } = await unreachable.createKey({ scopes: ['chat'] });
    const refused = new OpenAI({
      apiKey: key,
      baseURL: `${unreachable.baseURL}/v1`,
      maxRetries: 0,
    });
    const id = await requestIdOf(
      refused.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'anyone there?' }] })
        .withResponse(),
    );
    await settleLog(unreachable.server.deps);
    const line = unreachable.logs
      .flatMap((chunk) => chunk.split('\n').filter((l) => l !== ''))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.requestId === id && l.route !== undefined);
    expect(line, JSON.stringify(line)).toMatchObject({
      msg: 'upstream failure',
      status: 502,
      attempts: 3,
      reason: 'connection refused',
    });
    expect(line, JSON.stringify(line)).not.toHaveProperty('upstreamStatus');
  });
});
