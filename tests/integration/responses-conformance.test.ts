import { createOpenAI } from '@ai-sdk/openai';
import { generateText } from 'ai';
import type OpenAI from 'openai';
import { BadRequestError } from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeUpstream, UpstreamHandler } from '../helpers/fake-upstream.js';
import { completionFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp, TEST_APP_ORIGIN } from '../helpers/test-app.js';

let upstream: FakeUpstream;
let gateway: TestApp;
let client: OpenAI;
let key: string;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' });
  key = (await gateway.createKey()).key;
  client = gateway.openai(key);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
});

/** The error body of a call the gateway refused with 400; fails the test when it was accepted. */
async function refusalOf(call: Promise<unknown>): Promise<unknown> {
  const err = await call.catch((e: unknown) => e);
  if (!(err instanceof BadRequestError)) throw new Error(`not refused: ${JSON.stringify(err)}`);
  return err.error;
}

const REASONING_USAGE = {
  prompt_tokens: 11,
  completion_tokens: 40,
  total_tokens: 51,
  completion_tokens_details: { reasoning_tokens: 31 },
};

/** A chat answer that reasoned in the open, as DeepSeek and vLLM send it (`field` names it). */
function reasonedAnswer(field: 'reasoning_content' | 'reasoning'): UpstreamHandler {
  return (req, res) => {
    const completion = completionFor(req.body, 'Paris.');
    const [choice] = completion.choices;
    const message = { ...choice?.message, [field]: 'The capital of France is Paris.' };
    json(200, { ...completion, choices: [{ ...choice, message }], usage: REASONING_USAGE })(
      req,
      res,
    );
  };
}

/** Streams a reasoning model's answer: its reasoning in two deltas, then its text in two. */
function reasonedStream(field: 'reasoning_content' | 'reasoning'): UpstreamHandler {
  return (_req, res) => {
    const base = { id: 'chatcmpl-r', object: 'chat.completion.chunk', created: 1, model: 'm-r1' };
    const delta = (d: Record<string, unknown>, finish: string | null = null) => ({
      ...base,
      choices: [{ index: 0, delta: d, logprobs: null, finish_reason: finish }],
    });
    const chunks = [
      delta({ role: 'assistant', content: null, [field]: 'Capital of ' }),
      delta({ [field]: 'France: Paris.' }),
      delta({ content: 'Par', [field]: null }),
      delta({ content: 'is.' }),
      delta({}, 'stop'),
      { ...base, choices: [], usage: REASONING_USAGE },
    ];
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(`${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`);
  };
}

describe('reasoning summaries', () => {
  it('answers the upstream reasoning as a reasoning item with its summary text, before the message', async () => {
    for (const field of ['reasoning_content', 'reasoning'] as const) {
      upstream.enqueue(reasonedAnswer(field));
      const response = await client.responses.create({
        model: 'deepseek-reasoner',
        input: 'Capital of France?',
        reasoning: { effort: 'low', summary: 'auto' },
      });
      const body = JSON.stringify(response);
      expect(response.output, body).toHaveLength(2);
      expect(response.output[0], body).toEqual({
        id: expect.stringMatching(/^rs_[0-9a-f]{50}$/),
        type: 'reasoning',
        summary: [{ type: 'summary_text', text: 'The capital of France is Paris.' }],
      });
      expect(response.output[1], body).toMatchObject({ type: 'message', status: 'completed' });
      expect(response.output_text, body).toBe('Paris.');
      expect(response.reasoning, body).toEqual({ effort: 'low', summary: 'auto' });
      expect(response.usage?.output_tokens_details, body).toEqual({ reasoning_tokens: 31 });
      // Kept as it was sent.
      expect(await client.responses.retrieve(response.id)).toEqual(response);
    }
  });

  it('shows no reasoning item when no summary was asked for, as before', async () => {
    upstream.enqueue(reasonedAnswer('reasoning_content'));
    const response = await client.responses.create({ model: 'deepseek-reasoner', input: 'Hi' });
    expect(
      response.output.map((item) => item.type),
      JSON.stringify(response),
    ).toEqual(['message']);
    expect(response.usage?.output_tokens_details.reasoning_tokens).toBe(31);
  });

  it("streams the reasoning as OpenAI's reasoning summary events, which the SDK's stream helper assembles", async () => {
    for (const field of ['reasoning_content', 'reasoning'] as const) {
      upstream.enqueue(reasonedStream(field));
      const stream = client.responses.stream({
        model: 'deepseek-reasoner',
        input: 'Capital of France?',
        reasoning: { summary: 'detailed' },
      });
      const events: ResponseStreamEvent[] = [];
      for await (const event of stream) events.push(event);
      const final = await stream.finalResponse();
      const shown = JSON.stringify(events);
      expect(
        events.map((e) => e.sequence_number),
        shown,
      ).toEqual(events.map((_, i) => i));
      const reasoningId = final.output[0]?.id;
      const messageId = final.output[1]?.id;
      expect(
        events.map((e) => [e.type, 'item_id' in e ? e.item_id : null]),
        shown,
      ).toEqual([
        ['response.created', null],
        ['response.in_progress', null],
        ['response.output_item.added', null],
        ['response.reasoning_summary_part.added', reasoningId],
        ['response.reasoning_summary_text.delta', reasoningId],
        ['response.reasoning_summary_text.delta', reasoningId],
        ['response.reasoning_summary_text.done', reasoningId],
        ['response.reasoning_summary_part.done', reasoningId],
        ['response.output_item.done', null],
        ['response.output_item.added', null],
        ['response.content_part.added', messageId],
        ['response.output_text.delta', messageId],
        ['response.output_text.delta', messageId],
        ['response.output_text.done', messageId],
        ['response.content_part.done', messageId],
        ['response.output_item.done', null],
        ['response.completed', null],
      ]);
      expect(events[2], shown).toMatchObject({
        output_index: 0,
        item: { id: reasoningId, type: 'reasoning', summary: [] },
      });
      expect(events[3], shown).toMatchObject({
        output_index: 0,
        summary_index: 0,
        part: { type: 'summary_text', text: '' },
      });
      expect(events[6], shown).toMatchObject({
        summary_index: 0,
        text: 'Capital of France: Paris.',
      });
      expect(events[9], shown).toMatchObject({ output_index: 1, item: { id: messageId } });
      const summary = [{ type: 'summary_text', text: 'Capital of France: Paris.' }];
      expect(final.output[0], JSON.stringify(final)).toEqual({
        id: reasoningId,
        type: 'reasoning',
        summary,
      });
      expect(final.output_text).toBe('Paris.');
      expect(final.usage?.output_tokens_details.reasoning_tokens).toBe(31);
      const completed = events.at(-1);
      expect(completed?.type === 'response.completed' && completed.response.output[0]).toEqual(
        final.output[0],
      );
      expect((await client.responses.retrieve(final.id)).output[0]).toEqual(final.output[0]);
    }
  });
});

describe('reasoning items, stored', () => {
  it("serves the Vercel AI SDK a second turn that refers to the first turn's reasoning by id", async () => {
    const bodies: { input?: { type?: string; id?: string }[] }[] = [];
    const provider = createOpenAI({
      apiKey: key,
      baseURL: `${TEST_APP_ORIGIN}/v1`,
      fetch: async (url, init) => {
        bodies.push(JSON.parse(String(init?.body)));
        return gateway.request(String(url), init);
      },
    });
    const providerOptions = { openai: { reasoningSummary: 'auto' } };
    upstream.enqueue(reasonedAnswer('reasoning_content'));
    const first = await generateText({
      model: provider('o4-mini'),
      prompt: 'Capital of France?',
      providerOptions,
    });
    expect(first.reasoningText).toBe('The capital of France is Paris.');
    upstream.enqueue((req, res) => json(200, completionFor(req.body, 'Rome.'))(req, res));
    const second = await generateText({
      model: provider('o4-mini'),
      messages: [
        { role: 'user', content: 'Capital of France?' },
        ...first.response.messages,
        { role: 'user', content: 'And of Italy?' },
      ],
      providerOptions,
    });
    expect(second.text).toBe('Rome.');
    const referenced = (bodies[1]?.input ?? []).filter((item) => item.type === 'item_reference');
    expect(referenced.map((item) => item.id?.slice(0, 3))).toContain('rs_');
    // The reasoning never goes upstream again.
    expect(upstream.requests.at(-1)?.body.messages).toEqual([
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'And of Italy?' },
    ]);
  });

  it("lists a turn's reasoning among its conversation's items, as OpenAI does", async () => {
    const conversation = await client.conversations.create({});
    upstream.enqueue(reasonedAnswer('reasoning'));
    const response = await client.responses.create({
      model: 'deepseek-reasoner',
      input: 'Capital of France?',
      conversation: conversation.id,
      reasoning: { summary: 'concise' },
    });
    const items = await client.conversations.items.list(conversation.id, { order: 'asc' });
    expect(
      items.data.map((item) => item.type),
      JSON.stringify(items.data),
    ).toEqual(['message', 'reasoning', 'message']);
    expect(items.data[1]).toEqual(response.output[0]);
  });
});

describe('conversation items', () => {
  it("refuses adding an empty list of items as OpenAI does, 400 'empty_array'", async () => {
    const conversation = await client.conversations.create({});
    expect(
      await refusalOf(client.conversations.items.create(conversation.id, { items: [] })),
    ).toEqual({
      message:
        "Invalid 'items': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      type: 'invalid_request_error',
      param: 'items',
      code: 'empty_array',
    });
    expect((await client.conversations.items.list(conversation.id)).data).toEqual([]);
  });
});
