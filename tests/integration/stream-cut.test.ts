import { eq } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { interactions } from '../../src/storage/schema.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { chunksFor, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

let upstream: FakeUpstream;
let gateway: TestApp;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  // The cache is on (the default): what a stream leaves behind decides the next identical ask.
  gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url });
  const { key } = await gateway.createKey();
  // Streams over a real socket, as the Node server writes them.
  client = new OpenAI({ apiKey: key, baseURL: `${await gateway.listen()}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
  upstream.setFallback(sse(['Hello', ' again']));
});

/** The chunks `sse(['Hel', 'lo'])` sends: role, 'Hel', 'lo', finish, usage. */
const BEFORE_LO = 2;
const BEFORE_USAGE = 4;

/** Streams a chat answer through the SDK: its text, headers, and the error that ended it, if any. */
async function streamChat(content: string) {
  const { data, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content }] })
    .withResponse();
  let text = '';
  const finishReasons: (string | null)[] = [];
  let failure: unknown = null;
  try {
    for await (const chunk of data) {
      text += chunk.choices[0]?.delta.content ?? '';
      const finish = chunk.choices[0]?.finish_reason;
      if (finish !== undefined) finishReasons.push(finish);
    }
  } catch (err) {
    failure = err;
  }
  return {
    text,
    finishReasons,
    failure,
    requestId: response.headers.get('x-request-id') ?? '',
    cache: response.headers.get('x-tollgate-cache'),
  };
}

/** The interaction row of a request, once the after-response work has run. */
async function rowOf(requestId: string) {
  await settleLog(gateway.deps);
  const rows = await gateway.deps.database.db
    .select({ status: interactions.status, errorCode: interactions.errorCode })
    .from(interactions)
    .where(eq(interactions.id, requestId));
  return rows[0];
}

describe('a stream the upstream ends without [DONE] and without a finish_reason', () => {
  it('ends with an error frame, is recorded as a 502 upstream failure and is not cached', async () => {
    upstream.enqueue(sse(['Hel', 'lo'], { endAfter: BEFORE_LO }));
    const cut = await streamChat('a stream cut after its first word');
    expect(cut.text).toBe('Hel');
    expect(cut.failure, String(cut.failure)).toBeInstanceOf(OpenAI.APIError);
    expect((cut.failure as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({
      type: 'upstream_error',
      code: 'upstream_error',
    });
    expect(await rowOf(cut.requestId)).toEqual({ status: 502, errorCode: 'upstream_error' });

    const again = await streamChat('a stream cut after its first word');
    expect(again.cache, 'the cut answer was not cached').toBe('miss');
    expect(again.text).toBe('Hello again');
    expect(again.failure).toBeNull();
    expect(upstream.requests).toHaveLength(2);
  });

  it('ends a Responses stream with response.failed and an error event, recorded as a 502', async () => {
    upstream.enqueue(sse(['Hel', 'lo'], { endAfter: BEFORE_LO }));
    const { data, response } = await client.responses
      .create({ model: 'gpt-4o-mini', input: 'a response cut short', stream: true })
      .withResponse();
    const types: string[] = [];
    const failure = await (async () => {
      for await (const event of data) types.push(event.type);
    })().catch((err: unknown) => err);
    expect(failure, String(failure)).toBeInstanceOf(OpenAI.APIError);
    expect(types.at(-1), types.join(' ')).toBe('response.failed');
    expect(types).not.toContain('response.completed');
    const row = await rowOf(response.headers.get('x-request-id') ?? '');
    expect(row).toEqual({ status: 502, errorCode: 'upstream_error' });
  });
});

describe('a stream that ends with only one of [DONE] and a finish_reason', () => {
  it('is whole with its finish_reason and no [DONE] (nor usage): answered, recorded and cached', async () => {
    upstream.enqueue(sse(['Hel', 'lo'], { endAfter: BEFORE_USAGE }));
    const whole = await streamChat('a whole answer without [DONE]');
    expect(whole.failure).toBeNull();
    expect(whole.text).toBe('Hello');
    expect(whole.finishReasons.at(-1)).toBe('stop');
    expect(await rowOf(whole.requestId)).toEqual({ status: 200, errorCode: null });

    const again = await streamChat('a whole answer without [DONE]');
    expect(again.cache).toBe('hit');
    expect(again.text).toBe('Hello');
  });

  it('is answered with [DONE] and no finish_reason, but not cached with a finish_reason made up', async () => {
    upstream.enqueue(async (req, res) => {
      const unfinished = chunksFor(String(req.body.model), ['Hel', 'lo'], true).filter(
        (c) => !(c.choices as { finish_reason: string | null }[]).some((ch) => ch.finish_reason),
      );
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(
        `${unfinished.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`,
      );
    });
    const first = await streamChat('an answer that never says why it ended');
    expect(first.failure).toBeNull();
    expect(first.text).toBe('Hello');
    expect(await rowOf(first.requestId)).toEqual({ status: 200, errorCode: null });

    const again = await streamChat('an answer that never says why it ended');
    expect(again.cache, 'an answer without a finish_reason is not stored').toBe('miss');
    expect(again.text, 'answered by the upstream again').toBe('Hello again');
    expect(upstream.requests).toHaveLength(2);
  });
});
