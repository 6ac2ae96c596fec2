import { eq } from 'drizzle-orm';
import OpenAI, { BadRequestError } from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { interactions } from '../../src/storage/schema.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

let upstream: FakeUpstream;
let gateway: TestApp;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' });
  const { key } = await gateway.createKey();
  // Streams and disconnects over a real socket, as the Node server writes them.
  client = new OpenAI({ apiKey: key, baseURL: `${await gateway.listen()}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
  // 'Whole answer', as JSON or streamed as the request asks.
  upstream.setFallback((req, res) =>
    req.body.stream === true
      ? sse(['Whole', ' answer'])(req, res)
      : json(200, completionFor(req.body, 'Whole answer'))(req, res),
  );
});

/** The chunks `sse([a, b, …])` sends before its second text part: role, then the first part. */
const BEFORE_SECOND_PART = 2;

/** The rows of these requests: status and error code, once the after-response work has run. */
async function rowsOf(requestId: string) {
  await settleLog(gateway.deps);
  return gateway.deps.database.db
    .select({ status: interactions.status, errorCode: interactions.errorCode })
    .from(interactions)
    .where(eq(interactions.id, requestId));
}

/** The text of every item of a conversation, oldest first. */
async function conversationTexts(id: string): Promise<string[]> {
  const items = await client.conversations.items.list(id, { order: 'asc' });
  return items.data.map((item) =>
    item.type === 'message'
      ? item.content.map((part) => ('text' in part ? part.text : '')).join('')
      : item.type,
  );
}

/** The text the upstream was sent in its last request, message by message. */
function lastUpstreamTexts(): unknown[] {
  const messages = upstream.requests.at(-1)?.body.messages;
  return Array.isArray(messages) ? messages.map((m: { content: unknown }) => m.content) : [];
}

describe('a Responses stream the upstream cuts mid-answer', () => {
  it('sends response.failed with the output so far, stores it failed, and leaves its conversation as it was', async () => {
    const conversation = await client.conversations.create({});
    await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'first question',
      conversation: conversation.id,
    });
    upstream.enqueue(sse(['Hel', 'lo'], { endAfter: BEFORE_SECOND_PART }));
    const { data, response: http } = await client.responses
      .create({
        model: 'gpt-4o-mini',
        input: 'second question',
        conversation: conversation.id,
        stream: true,
      })
      .withResponse();
    const events: ResponseStreamEvent[] = [];
    const failure = await (async () => {
      for await (const event of data) events.push(event);
    })().catch((err: unknown) => err);
    expect(failure, String(failure)).toBeInstanceOf(OpenAI.APIError);
    const failed = events.find((e) => e.type === 'response.failed');
    if (failed?.type !== 'response.failed') throw new Error(JSON.stringify(events));
    expect(failed.response.output, JSON.stringify(failed.response)).toEqual([
      {
        id: expect.stringMatching(/^msg_/),
        type: 'message',
        role: 'assistant',
        status: 'incomplete',
        content: [{ type: 'output_text', text: 'Hel', annotations: [], logprobs: [] }],
      },
    ]);
    expect(failed.response.error).toEqual({
      code: 'server_error',
      message: 'Could not get an answer from the upstream provider.',
    });

    const stored = await client.responses.retrieve(failed.response.id);
    expect(stored, JSON.stringify(stored)).toMatchObject({
      status: 'failed',
      error: failed.response.error,
      output: failed.response.output,
      conversation: { id: conversation.id },
    });
    const input = await client.responses.inputItems.list(failed.response.id);
    expect(input.data.map((item) => item.type === 'message' && item.content)).toEqual([
      [{ type: 'input_text', text: 'second question' }],
    ]);
    expect(await rowsOf(http.headers.get('x-request-id') ?? '')).toEqual([
      { status: 502, errorCode: 'upstream_error' },
    ]);

    // The conversation goes on from its last whole turn; the failed one is asked again.
    expect(await conversationTexts(conversation.id)).toEqual(['first question', 'Whole answer']);
    const next = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'second question',
      conversation: conversation.id,
    });
    expect(next.output_text).toBe('Whole answer');
    expect(lastUpstreamTexts()).toEqual(['first question', 'Whole answer', 'second question']);

    const chained = await client.responses
      .create({ model: 'gpt-4o-mini', input: 'go on', previous_response_id: failed.response.id })
      .catch((err: unknown) => err);
    expect(chained, String(chained)).toBeInstanceOf(BadRequestError);
    expect((chained as BadRequestError).error).toMatchObject({
      param: 'previous_response_id',
      code: 'invalid_value',
    });
  });

  it('stores nothing with store: false', async () => {
    upstream.enqueue(sse(['Hel', 'lo'], { endAfter: BEFORE_SECOND_PART }));
    const data = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'not kept',
      store: false,
      stream: true,
    });
    let id = '';
    await (async () => {
      for await (const event of data) if (event.type === 'response.failed') id = event.response.id;
    })().catch(() => {});
    expect(id).toMatch(/^resp_/);
    const found = await client.responses.retrieve(id).catch((err: unknown) => err);
    expect(found, String(found)).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe('a Responses stream its client leaves', () => {
  it('aborts the upstream call, records one 499 row and stores the response cancelled with the output so far', async () => {
    const first = await client.responses.create({ model: 'gpt-4o-mini', input: 'first question' });
    let release: () => void = () => {};
    const pause = new Promise<void>((r) => (release = r));
    upstream.enqueue(sse(['one', 'two'], { pauseBefore: BEFORE_SECOND_PART, pause }));
    const controller = new AbortController();
    const { data, response: http } = await client.responses
      .create(
        {
          model: 'gpt-4o-mini',
          input: 'second question',
          previous_response_id: first.id,
          stream: true,
        },
        { signal: controller.signal },
      )
      .withResponse();
    let id = '';
    for await (const event of data) {
      if (event.type === 'response.created') id = event.response.id;
      if (event.type === 'response.output_text.delta') break;
    }
    controller.abort();
    // The upstream stays paused until after this: only the client's leaving can close it.
    const closedAt = await upstream.requests.at(-1)?.closedEarly;
    release();
    expect(closedAt, 'the upstream call was not aborted').toBeGreaterThan(0);
    expect(await rowsOf(http.headers.get('x-request-id') ?? '')).toEqual([
      { status: 499, errorCode: 'client_closed' },
    ]);

    const stored = await client.responses.retrieve(id);
    expect(stored, JSON.stringify(stored)).toMatchObject({
      status: 'cancelled',
      error: null,
      previous_response_id: first.id,
      output: [
        {
          type: 'message',
          status: 'incomplete',
          content: [{ type: 'output_text', text: 'one' }],
        },
      ],
    });
    // The chain goes on from the last whole response.
    const again = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'second question',
      previous_response_id: first.id,
    });
    expect(again.output_text).toBe('Whole answer');
    const chained = await client.responses
      .create({ model: 'gpt-4o-mini', input: 'go on', previous_response_id: id })
      .catch((err: unknown) => err);
    expect(chained, String(chained)).toBeInstanceOf(BadRequestError);
  });
});
